"""Which columns hold the price, title, text and category: detected from headers, or named.

Headers are compared after normalising them: case, spacing, punctuation and a unit in brackets
do not matter ("Cost (USD)" is "cost", "Product_Name" is "product name"). Each role has a list
of synonyms, best first; failing those, a header whose last word names the role ("Listing
Title", "Shop Category", "Our Price", but not "Shipping Price"). A column never takes two
roles. A column the user names overrides only its own role: the others are still detected.
A price column whose header names another currency or cents ("Price (EUR)", "eur_price",
"price_cents") is never detected as the price.

Records in the shape of the course's Amazon Reviews 2023 metadata (``title``, ``description``,
``features`` and ``details``, with a field only that metadata has, such as ``main_category`` or
``parent_asin``) get the course's treatment: the three text fields joined, at
least 300 characters of text, and the part-number scrub.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from price_parser import Price

from ftkit.errors import SourceError
from ftkit.sources.amazon import MIN_CHARS

__all__ = [
    "AMAZON_TEXT",
    "ColumnMapping",
    "ColumnOverrides",
    "check_columns",
    "describe_mapping",
    "detect_mapping",
    "guess_mapping",
    "mapping_to_json",
    "normalise_header",
    "overrides_from_json",
]

AMAZON_TEXT = ("description", "features", "details")
# fields of Amazon Reviews 2023 metadata that a generic export with the three text fields lacks
_AMAZON_ONLY = frozenset(
    {"main_category", "parent_asin", "average_rating", "rating_number", "bought_together"}
)
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "price": (
        "price",
        "price usd",
        "usd price",
        "sale price",
        "list price",
        "current price",
        "retail price",
        "msrp",
        "cost",
        "unit price",
        "amount",
    ),
    "title": (
        "title",
        "name",
        "product name",
        "product title",
        "item name",
        "item title",
        "product",
        "item",
        "title name",
    ),
    "text": (
        "description",
        "long description",
        "product description",
        "item description",
        "text",
        "blurb",
        "blurb text",
        "details",
        "features",
        "summary",
        "body",
        "content",
        "short description",
        "about",
        "overview",
    ),
    "category": (
        "category",
        "main category",
        "categories",
        "product category",
        "category name",
        "department",
        "type",
        "product type",
        "group",
        "section",
    ),
}
# A header not among the synonyms still takes a role when its last word names it ("Listing
# Title", "Shop Category", "Our Price"), unless another word says it is not the item's price.
_LAST_WORDS: dict[str, frozenset[str]] = {
    "price": frozenset({"price"}),
    "title": frozenset({"title"}),
    "text": frozenset({"description"}),
    "category": frozenset({"category", "categories"}),
}
_NOT_THE_PRICE = frozenset(
    {"shipping", "postage", "delivery", "handling", "tax", "vat", "fee", "deposit", "discount"}
)
# words in a price header that say its numbers are not whole US dollars
_NOT_DOLLARS = frozenset(
    {
        "eur",
        "euro",
        "euros",
        "gbp",
        "pound",
        "pounds",
        "chf",
        "cad",
        "aud",
        "nzd",
        "jpy",
        "yen",
        "cny",
        "rmb",
        "inr",
        "rupee",
        "rupees",
        "sek",
        "nok",
        "dkk",
        "pln",
        "czk",
        "huf",
        "brl",
        "mxn",
        "hkd",
        "sgd",
        "krw",
        "rub",
        "zar",
        "ils",
        "aed",
        "sar",
        "thb",
        "cent",
        "cents",
        "pence",
        "penny",
        "paise",
    }
)
_BRACKETS = re.compile(r"[(\[{]([^)\]}]*)[)\]}]")
_NOT_WORD = re.compile(r"[\W_]+")
_DOLLARS = frozenset({"$", "us$", "usd", "us $"})
_NO_COLUMNS_SHOWN = 12
_MAX_UNIT_CHARS = 20


@dataclass(frozen=True)
class ColumnMapping:
    """Which fields hold the title, the text (one or more, joined in order), price and category.

    ``min_chars`` drops items with less text; ``scrub_part_numbers`` removes words of 7+
    characters with a digit (the course's rule for Amazon part numbers).
    """

    price: str
    title: str | None = None
    text: tuple[str, ...] = ()
    category: str | None = None
    min_chars: int = 0
    scrub_part_numbers: bool = False


@dataclass(frozen=True)
class ColumnOverrides:
    """What the user named; ``None`` (or an empty ``text``) means "detect it"."""

    price: str | None = None
    title: str | None = None
    text: tuple[str, ...] = ()
    category: str | None = None
    scrub_part_numbers: bool | None = None


def normalise_header(header: object) -> str:
    """Return a header without case, punctuation, extra spaces or a unit in brackets."""
    text = _BRACKETS.sub(" ", str(header))
    return " ".join(_NOT_WORD.sub(" ", text).lower().split())


def _is_foreign_price(header: str) -> bool:
    """Return True when a header names a unit other than dollars: "Price (EUR)", "price_cents"."""
    if _NOT_DOLLARS & set(_NOT_WORD.sub(" ", header).lower().split()):
        return True
    for unit in _BRACKETS.findall(header):
        if len(unit) > _MAX_UNIT_CHARS:  # no currency; the parser would take minutes on it
            continue
        currency = Price.fromstring(unit).currency
        if currency is not None and currency.strip().lower() not in _DOLLARS:
            return True
    return False


def _pick(columns: Sequence[str], role: str, taken: set[str]) -> str | None:
    by_name: dict[str, str] = {}
    for column in columns:
        if column in taken or (role == "price" and _is_foreign_price(column)):
            continue
        by_name.setdefault(normalise_header(column), column)
    found = next((by_name[n] for n in _SYNONYMS[role] if n in by_name), None)
    return found or next((c for n, c in by_name.items() if _ends_with_role(n, role)), None)


def _ends_with_role(name: str, role: str) -> bool:
    words = name.split()
    if not words or words[-1] not in _LAST_WORDS[role]:
        return False
    return role != "price" or not _NOT_THE_PRICE & set(words)


def _is_amazon(columns: Sequence[str]) -> bool:
    names = set(columns)
    return {"title", *AMAZON_TEXT} <= names and bool(_AMAZON_ONLY & names)


def check_columns(
    columns: Sequence[str], named: ColumnMapping | ColumnOverrides, label: str
) -> None:
    """Raise ``SourceError`` naming ``label`` and the columns when a named column is missing."""
    wanted = [named.price, named.title, *named.text, named.category]
    missing = [name for name in wanted if name and name not in columns]
    if missing:
        shown = ", ".join(map(str, columns[:_NO_COLUMNS_SHOWN]))
        raise SourceError(f"{label}: no column named {', '.join(missing)} (columns: {shown})")


def guess_mapping(
    columns: Sequence[str], overrides: ColumnOverrides | None = None
) -> ColumnOverrides:
    """Return the detected columns (named ones kept as named); roles not found stay ``None``."""
    named = overrides or ColumnOverrides()
    taken = {c for c in (named.price, named.title, *named.text, named.category) if c}
    amazon = _is_amazon(columns)
    price = named.price or _pick(columns, "price", taken)
    title = named.title or _pick(columns, "title", taken | {price or ""})
    text = named.text
    if not text:
        used = taken | {price or "", title or ""}
        if amazon:
            text = tuple(c for c in AMAZON_TEXT if c not in used)
        else:
            first = _pick(columns, "text", used)
            text = (first,) if first else ()
    used = taken | {price or "", title or "", *text}
    category = named.category or _pick(columns, "category", used)
    scrub = amazon if named.scrub_part_numbers is None else named.scrub_part_numbers
    return ColumnOverrides(price, title, text, category, scrub)


def detect_mapping(
    columns: Sequence[str], label: str = "data", overrides: ColumnOverrides | None = None
) -> ColumnMapping:
    """Detect the mapping, keeping the columns the user named.

    Raises ``SourceError`` naming ``label`` when a named column is missing, or when no price
    column, or neither a title nor a text column, is found.
    """
    overrides = overrides or ColumnOverrides()
    check_columns(columns, overrides, label)
    guess = guess_mapping(columns, overrides)
    shown = ", ".join(map(str, columns[:_NO_COLUMNS_SHOWN])) or "no columns"
    if guess.price is None:
        raise SourceError(
            f"{label}: no price column (looked for headers like price, cost, amount, msrp; "
            f"found {shown})"
        )
    if guess.title is None and not guess.text:
        raise SourceError(
            f"{label}: no title or text column (looked for headers like title, name, "
            f"description; found {shown})"
        )
    amazon = _is_amazon(columns) and guess.text == AMAZON_TEXT
    return ColumnMapping(
        price=guess.price,
        title=guess.title,
        text=guess.text,
        category=guess.category,
        min_chars=MIN_CHARS if amazon else 0,
        scrub_part_numbers=bool(guess.scrub_part_numbers),
    )


def describe_mapping(mapping: ColumnMapping) -> str:
    """Return the mapping in one line, e.g. ``price 'Cost (USD)', title 'Name', ...``."""
    text = " + ".join(repr(c) for c in mapping.text) or "none"
    parts = [
        f"price {mapping.price!r}",
        f"title {mapping.title!r}" if mapping.title else "title none",
        f"text {text}",
        f"category {mapping.category!r}" if mapping.category else "category none",
        f"part-number scrub {'on' if mapping.scrub_part_numbers else 'off'}",
    ]
    if mapping.min_chars:
        parts.append(f"at least {mapping.min_chars} characters of text")
    return ", ".join(parts)


def mapping_to_json(mapping: ColumnMapping | None) -> dict[str, Any] | None:
    """Return the mapping as JSON (``text`` a list), as ``--json`` and a run's settings hold it."""
    return None if mapping is None else {**asdict(mapping), "text": list(mapping.text)}


def overrides_from_json(recorded: Any) -> ColumnOverrides | None:
    """Return a recorded mapping as overrides that name every column it used; None if none."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("price"), str):
        return None
    text = recorded.get("text") or ()
    return ColumnOverrides(
        price=recorded["price"],
        title=recorded.get("title") or None,
        text=tuple(str(column) for column in text) if isinstance(text, list) else (),
        category=recorded.get("category") or None,
        scrub_part_numbers=bool(recorded.get("scrub_part_numbers")),
    )
