"""The item: a product with a text description and a price, as the course defines it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRICE_PREFIX", "QUESTION", "Item"]

QUESTION = "How much does this cost to the nearest dollar?"
PRICE_PREFIX = "Price is $"


@dataclass(eq=True)
class Item:
    """One product: title, price in dollars, category, details text and the training prompt.

    The class is deliberately a plain (non-slotted) dataclass: the course's pickles are
    unpickled straight into it, and pickle's BUILD step fills ``__dict__`` in C, which keeps
    loading 400,000 items fast. Extra attributes from the course's class (``token_count``,
    ``include``) simply ride along.
    """

    title: str
    price: float
    category: str = ""
    details: str = ""
    prompt: str = ""

    def test_prompt(self) -> str:
        """Return the prompt up to and including "Price is $", as the course's Item does."""
        return self.prompt.split(PRICE_PREFIX)[0] + PRICE_PREFIX

    @property
    def text(self) -> str:
        """Return the description part of the prompt: no question, no price line."""
        body = self.prompt.split(PRICE_PREFIX)[0]
        if body.startswith(QUESTION):
            body = body[len(QUESTION) :]
        return body.strip()
