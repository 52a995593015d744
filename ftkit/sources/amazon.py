"""Build course-style prompts from raw product records (Amazon Reviews 2023 metadata shape).

The rules, close to the course's ``items.py`` but without its gated Llama tokenizer:

1. The text is the description lines, then the features, then the details (a dict becomes
   ``key value`` pairs), each joined with newlines. Boilerplate detail keys the course removed
   ("Batteries Included?", "Date First Available", "Best Sellers Rank", ...) are dropped.
2. Title and text are scrubbed: brackets, quotes, braces and colons become spaces and runs of
   white space collapse. Words of 7+ characters that contain a digit (part numbers) go too, but
   only for Amazon-2023 records or when asked: elsewhere they are specs ("12-megapixel").
3. Records whose text has fewer than ``min_chars`` characters (300 for Amazon-style records,
   as in the course) are dropped as "too little text".
4. The text is cut at a word boundary to at most ``max_chars`` (900, roughly the course's 160
   Llama tokens).
5. The prompt is "How much does this cost to the nearest dollar?", a blank line, the title and
   text, a blank line, and "Price is $N.00" with the price rounded to whole dollars.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ftkit.items import PRICE_PREFIX, QUESTION, Item
from ftkit.sources.prices import read_price

__all__ = [
    "MAX_CHARS",
    "MIN_CHARS",
    "build_prompt",
    "item_from_fields",
    "parse_price",
    "scrub",
    "text_of_record",
]

MIN_CHARS = 300
MAX_CHARS = 900

_DROPPED_DETAIL_KEYS = (
    "batteries included",
    "batteries required",
    "date first available",
    "best sellers rank",
    "customer reviews",
    "discontinued by manufacturer",
    "is discontinued",
)
_PUNCTUATION = re.compile(r'[:\[\]"{}【】\s]+')


def parse_price(value: Any) -> float | None:
    """Return a positive finite US-dollar price (see ``ftkit.sources.prices``), else None."""
    price = read_price(value)
    return price if isinstance(price, float) else None


def scrub(text: str, *, part_numbers: bool = True) -> str:
    """Clean text the course's way: drop punctuation noise and (optionally) long part numbers."""
    text = _PUNCTUATION.sub(" ", text).strip()
    text = text.replace(" ,", ",").replace(",,,", ",").replace(",,", ",")
    if not part_numbers:
        return text
    words = text.split(" ")
    return " ".join(w for w in words if len(w) < 7 or not any(c.isdigit() for c in w))


def _lines(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)]


def _details_text(details: Any) -> str:
    if isinstance(details, Mapping):
        pairs = (
            f"{key} {value}"
            for key, value in details.items()
            if str(key).strip().lower() not in _DROPPED_DETAIL_KEYS
        )
        return ", ".join(pairs)
    return "\n".join(_lines(details))


def text_of_record(
    record: Mapping[str, Any], columns: Sequence[str] = ("description", "features", "details")
) -> str:
    """Return the raw text of a record: its text columns in order, details flattened."""
    parts: list[str] = []
    for column in columns:
        value = record.get(column)
        if isinstance(value, Mapping) or column.lower() == "details":
            details = _details_text(value)
            if details:
                parts.append(details)
        else:
            parts.extend(_lines(value))
    return "\n".join(parts)


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return cut[:space] if space > max_chars // 2 else cut


def build_prompt(
    title: str, text: str, price: float, *, max_chars: int = MAX_CHARS, part_numbers: bool = True
) -> str:
    """Return the course's training prompt; ``part_numbers=False`` keeps words like "IP57"."""
    body = _cut(scrub(text, part_numbers=part_numbers), max_chars)
    heading = scrub(title, part_numbers=part_numbers)
    content = f"{heading}\n{body}" if body else heading
    return f"{QUESTION}\n\n{content}\n\n{PRICE_PREFIX}{round(price)}.00"


def item_from_fields(
    title: str,
    text: str,
    price: float,
    category: str = "",
    *,
    max_chars: int = MAX_CHARS,
    part_numbers: bool = True,
) -> Item:
    """Return an ``Item`` whose prompt is built the course's way."""
    prompt = build_prompt(title, text, price, max_chars=max_chars, part_numbers=part_numbers)
    return Item(title=title, price=price, category=category, details=text, prompt=prompt)
