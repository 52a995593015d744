"""Read a price in US dollars from a cell, or say why it cannot be read; never guess.

Numbers are taken as they are (a NaN is a missing price). Text goes through ``price-parser``
for the currency and the amount, then a strict check of the amount's digits:

- no currency, ``$``, ``US$`` or ``USD`` is US dollars; any other currency is refused;
- ``1,299.00`` and ``1,299`` use commas between thousands; a comma anywhere else (``45,00``,
  ``1.299,00``, ``12,5``, ``45,-``, ``0,004``) may be a decimal comma, so the price is refused
  rather than misread;
- a dot before exactly three digits (``1.299``, ``12.345``) may separate thousands, as in much
  of Europe and Latin America, so it is refused too (``0.125`` is read);
- plain numbers, including ``1e3``, are read by Python; ``1e400`` (infinite) and anything over
  ``MAX_PRICE`` (a sentinel such as ``1e300``, not a product's price) are refused, and so is a
  positive price under a cent (``0.001``), which the messages would show as ``$0.00``;
- text longer than ``MAX_PRICE_CHARS`` is no price (and would take the parser minutes);
- other words or numbers around the amount ("iPhone 6", ``$10 - $20``) are refused, and so are
  marks that change its meaning: a minus or accounting brackets (``(5)``) make it negative, a
  sign after it (``5+``, ``5-``) or a unit (``/month``) make it something other than a price.
  Only the currency, words like "dollars" or "each", ``~``, ``:`` and ``.`` may stand beside it.
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
    "AMBIGUOUS_DOT",
    "MAX_PRICE",
    "MAX_PRICE_CHARS",
    "MIN_PRICE",
    "NOT_POSITIVE",
    "NO_PRICE",
    "OTHER_CURRENCY",
    "TOO_LARGE",
    "TOO_SMALL",
    "UNPARSEABLE",
    "read_price",
]

NO_PRICE: Final = "no price"
UNPARSEABLE: Final = "unparseable price"
OTHER_CURRENCY: Final = "price in another currency"
AMBIGUOUS_COMMA: Final = "ambiguous decimal comma in price"
AMBIGUOUS_DOT: Final = "ambiguous thousands dot in price"
NOT_POSITIVE: Final = "price zero or negative"
TOO_LARGE: Final = "price over $1,000,000,000"
MAX_PRICE: Final = 1e9
MIN_PRICE: Final = 0.01  # anything less shows as $0.00 in the messages
MAX_PRICE_CHARS: Final = 100  # "USD 1,299.99 each (approx.)" is 27
TOO_SMALL: Final = "price under one cent"

_DOLLARS = frozenset({"$", "us$", "usd", "us $", "u.s.$"})
_PLAIN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[^\W_]+")
_WORDS = frozenset({"us", "usd", "dollar", "dollars", "each", "price", "approx", "about"})
_US_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")
_THOUSANDS_DOT = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")
_MARKS = re.compile(r"[^\w\s~.:]")  # punctuation beside an amount that changes its meaning


def _checked(price: float) -> float | str:
    if math.isnan(price):
        return NO_PRICE
    if math.isinf(price):
        return UNPARSEABLE
    if price > MAX_PRICE:
        return TOO_LARGE
    if price <= 0:
        return NOT_POSITIVE
    return price if price >= MIN_PRICE else TOO_SMALL


def _from_number(value: SupportsFloat) -> float | str:
    try:
        return _checked(float(value))
    except OverflowError:  # an int too large for a float
        return UNPARSEABLE


def _beside(text: str, amount: str, currency: str | None) -> tuple[str, str]:
    """Return the text before and after ``amount``, lowercased, without the currency."""
    before, _, after = text.lower().partition(amount.lower())
    mark = (currency or "").strip().lower()
    if mark and mark in before:
        before = before.replace(mark, " ", 1)
    elif mark:
        after = after.replace(mark, " ", 1)
    return before, after


def _marked(before: str, after: str) -> str | None:
    """Return why the marks beside an amount stop it being read, or None when they do not."""
    marks_before, marks_after = set(_MARKS.findall(before)), set(_MARKS.findall(after))
    if "-" in marks_before or ("(" in marks_before and ")" in marks_after):
        return NOT_POSITIVE  # "-$5", "(5)": a negative amount, in accounting's brackets too
    if after.lstrip().startswith(","):
        return AMBIGUOUS_COMMA  # "45,-": a decimal comma
    return UNPARSEABLE if marks_before - {"+"} or marks_after else None


def _from_text(text: str) -> float | str:
    text = text.strip()
    if not text:
        return NO_PRICE
    if len(text) > MAX_PRICE_CHARS:
        return UNPARSEABLE
    if _THOUSANDS_DOT.fullmatch(text):
        return AMBIGUOUS_DOT
    if _PLAIN.fullmatch(text):
        return _checked(float(text))
    parsed = Price.fromstring(text)
    amount = parsed.amount_text
    if amount is None:
        return UNPARSEABLE
    if parsed.currency is not None and parsed.currency.strip().lower() not in _DOLLARS:
        return OTHER_CURRENCY
    before, after = _beside(text, amount, parsed.currency)
    if not set(_WORD.findall(f"{before} {after}")) <= _WORDS:
        return UNPARSEABLE  # words or more numbers: "iPhone 6", "$10 - $20", "$1e3"
    if (marked := _marked(before, after)) is not None:
        return marked
    if _THOUSANDS_DOT.fullmatch(amount):
        return AMBIGUOUS_DOT
    if not _US_AMOUNT.fullmatch(amount):
        return AMBIGUOUS_COMMA if "," in amount else UNPARSEABLE
    return _checked(float(amount.replace(",", "")))


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
