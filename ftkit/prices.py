"""Read a price in US dollars from a cell, or say why it cannot be read; never guess.

Numbers are taken as they are (a NaN is a missing price). Text goes through ``price-parser``
for the currency and the amount, then a strict check of the amount's digits:

- no currency, ``$``, ``US$`` or ``USD`` is US dollars; any other currency is refused;
- ``1,299.00`` and ``1,299`` use commas between thousands; a comma anywhere else (``45,00``,
  ``1.299,00``, ``12,5``) may be a decimal comma, so the price is refused rather than misread;
- plain numbers, including ``1e3``, are read by Python; ``1e400`` (infinite) is refused;
- other words or numbers around the amount ("iPhone 6", ``$10 - $20``) or a minus sign before
  it are refused: only the currency and words like "dollars" or "each" may stand beside it.
"""

from __future__ import annotations

import math
import numbers
import re
from decimal import Decimal
from typing import Any, Final, SupportsFloat

from price_parser import Price

__all__ = [
    "AMBIGUOUS_COMMA",
    "NOT_POSITIVE",
    "NO_PRICE",
    "OTHER_CURRENCY",
    "UNPARSEABLE",
    "read_price",
]

NO_PRICE: Final = "no price"
UNPARSEABLE: Final = "unparseable price"
OTHER_CURRENCY: Final = "price in another currency"
AMBIGUOUS_COMMA: Final = "ambiguous decimal comma in price"
NOT_POSITIVE: Final = "price zero or negative"

_DOLLARS = frozenset({"$", "us$", "usd", "us $", "u.s.$"})
_PLAIN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[^\W_]+")
_WORDS = frozenset({"us", "dollar", "dollars", "each", "price", "approx", "about"})
_US_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")


def _checked(price: float) -> float | str:
    if math.isnan(price):
        return NO_PRICE
    if math.isinf(price):
        return UNPARSEABLE
    return price if price > 0 else NOT_POSITIVE


def _from_number(value: SupportsFloat) -> float | str:
    try:
        return _checked(float(value))
    except OverflowError:  # an int too large for a float
        return UNPARSEABLE


def _from_text(text: str) -> float | str:
    text = text.strip()
    if not text:
        return NO_PRICE
    if _PLAIN.fullmatch(text):
        return _checked(float(text))
    parsed = Price.fromstring(text)
    amount = parsed.amount_text
    if amount is None:
        return UNPARSEABLE
    if parsed.currency is not None and parsed.currency.strip().lower() not in _DOLLARS:
        return OTHER_CURRENCY
    before, _, after = text.partition(amount)
    rest = f"{before} {after}".lower()
    if parsed.currency:
        rest = rest.replace(parsed.currency.strip().lower(), " ", 1)
    if not set(_WORD.findall(rest)) <= _WORDS:
        return UNPARSEABLE  # words or more numbers: "iPhone 6", "$10 - $20", "$1e3"
    if not _US_AMOUNT.fullmatch(amount):
        return AMBIGUOUS_COMMA if "," in amount else UNPARSEABLE
    price = float(amount.replace(",", ""))
    return NOT_POSITIVE if "-" in before else _checked(price)


def read_price(value: Any) -> float | str:
    """Return a positive finite price in US dollars, or the reason (a constant here) why not."""
    if value is None:
        return NO_PRICE
    if isinstance(value, bool):
        return UNPARSEABLE
    if isinstance(value, numbers.Real):
        return _from_number(value)
    if isinstance(value, Decimal):  # a Parquet decimal column
        return _from_number(float(value))
    if isinstance(value, str):
        return _from_text(value)
    return UNPARSEABLE
