"""Read items from the built-in sample, the course's pickles, CSV, JSONL (.gz), JSON and Parquet."""

from __future__ import annotations

import hashlib
import math
import numbers
import operator
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ftkit.errors import SourceError
from ftkit.items import Item
from ftkit.sources.amazon import item_from_fields, text_of_record
from ftkit.sources.columns import (
    ColumnMapping,
    ColumnOverrides,
    check_columns,
    describe_mapping,
    detect_mapping,
)
from ftkit.sources.pickles import load_course_pickle
from ftkit.sources.prices import (
    MAX_PRICE,
    MIN_PRICE,
    OTHER_CURRENCY,
    UNPARSEABLE,
    read_price,
)
from ftkit.sources.sniff import DEFAULT_UPLOAD_BYTES, require_regular_file, sniff_upload
from ftkit.sources.tables import DEFAULT_READ_LIMITS, ReadLimits, read_records

__all__ = [
    "PICKLE_SUFFIXES",
    "SAMPLE",
    "ColumnMapping",
    "ColumnOverrides",
    "LoadedItems",
    "ReadLimits",
    "columns_of",
    "content_hash",
    "detect_mapping",
    "items_from_records",
    "load_items",
    "load_items_from_bytes",
    "pickled_items",
    "read_records",
    "records_to_items",
    "require_items",
]

SAMPLE = "sample"
PICKLE_SUFFIXES = (".pkl", ".pickle")
Split = Literal["train", "test", "all"]

_HASH_BLOCK = 1 << 20
_PRICE_OF = operator.attrgetter("price")
_COLUMNS_FROM = 200  # rows whose keys make up the columns
TITLE_NOT_TEXT = "title not text"


@dataclass(frozen=True)
class LoadedItems:
    """Items read from one source, with what was dropped and why."""

    source: str
    items: list[Item]
    rows: int
    dropped: dict[str, int] = field(default_factory=dict)
    mapping: ColumnMapping | None = None
    content_hash: str | None = None  # "sha256:<hex>" of the source's bytes, when read from them
    empty_text: int = 0  # items kept whose text columns were empty (their prompt is the title)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def warnings(self) -> list[str]:
        """Return a line for each thing about the kept items a user should check."""
        return [line for line in (self._text_warning(), self._currency_warning()) if line]

    def _text_warning(self) -> str | None:
        if self.mapping is None or not self.mapping.text or self.empty_text * 2 <= len(self.items):
            return None
        columns = " + ".join(repr(c) for c in self.mapping.text)
        return (
            f"the text column {columns} is empty in {self.empty_text:,} of the "
            f"{len(self.items):,} items, whose prompts hold only the title; name a fuller "
            "column with --text-column (or the Data page's Text picker) if there is one"
        )

    def _currency_warning(self) -> str | None:
        foreign = self.dropped.get(OTHER_CURRENCY, 0)
        if not foreign or self.mapping is None:
            return None
        return (
            f"{foreign:,} prices in {self.mapping.price!r} are in another currency (dropped); "
            f"the {len(self.items):,} kept were read as US dollars: check that they are"
        )


def require_items(loaded: LoadedItems) -> LoadedItems:
    """Return ``loaded``; raise ``SourceError`` counting the drops by reason when it is empty."""
    if loaded.items:
        return loaded
    if not loaded.rows:
        raise SourceError(f"{loaded.source}: holds no rows")
    ranked = sorted(loaded.dropped.items(), key=lambda pair: (-pair[1], pair[0]))
    reasons = "; ".join(f"{count:,} {reason}" for reason, count in ranked)
    used = f"; columns used: {describe_mapping(loaded.mapping)}" if loaded.mapping else ""
    raise SourceError(
        f"{loaded.source}: no usable rows, all {loaded.rows:,} were dropped ({reasons}){used}"
    )


def columns_of(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return the column names of records, in order of first appearance in the first rows."""
    return list(dict.fromkeys(key for record in records[:_COLUMNS_FROM] for key in record))


def _category(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, float):
        return ""
    if isinstance(value, Iterable):
        parts = [str(v) for v in value if v]
        return parts[0] if parts else ""
    return str(value)


def _title(value: Any) -> str | None:
    """Return a cell's title as text ("" when missing), or None when it is a list or a record."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str | numbers.Real | Decimal) and not isinstance(value, bool):
        return str(value).strip()
    return None


def items_from_records(
    records: Sequence[Mapping[str, Any]], mapping: ColumnMapping, label: str
) -> LoadedItems:
    """Turn raw records into items by ``mapping``, counting the rows dropped and why."""
    dropped: Counter[str] = Counter()
    items: list[Item] = []
    empty_text = 0
    for record in records:
        price = read_price(record.get(mapping.price))
        if isinstance(price, str):
            dropped[price] += 1
            continue
        title = _title(record.get(mapping.title)) if mapping.title else ""
        if title is None:
            dropped[TITLE_NOT_TEXT] += 1
            continue
        text = text_of_record(record, mapping.text).strip()
        if not title and not text:
            dropped["no title or text"] += 1
            continue
        if len(text) < mapping.min_chars:
            dropped[f"under {mapping.min_chars} characters of text"] += 1
            continue
        empty_text += not text
        category = _category(record.get(mapping.category)) if mapping.category else ""
        scrub = mapping.scrub_part_numbers
        item = item_from_fields(title or text[:80], text, price, category, part_numbers=scrub)
        items.append(item)
    return LoadedItems(label, items, len(records), dict(dropped), mapping, empty_text=empty_text)


def records_to_items(
    records: list[dict[str, Any]],
    label: str,
    *,
    mapping: ColumnMapping | None = None,
    overrides: ColumnOverrides | None = None,
) -> LoadedItems:
    """Map records (by ``mapping``, else detected keeping ``overrides``) into at least one item.

    Raises ``SourceError`` when a column is missing or when no row survives (with the count of
    rows dropped for each reason).
    """
    if not records:
        raise SourceError(f"{label}: holds no rows")
    columns = columns_of(records)
    if mapping is None:
        mapping = detect_mapping(columns, label, overrides)
    else:
        check_columns(columns, mapping, label)
    return require_items(items_from_records(records, mapping, label))


def _load_sample(split: Split) -> LoadedItems:
    data = resources.files("ftkit.data").joinpath("sample_items.jsonl.gz").read_bytes()
    records = read_records(data, "sample_items.jsonl.gz", "built-in sample")
    if split != "all":
        records = [r for r in records if r.get("split") == split]
    loaded = records_to_items(records, "built-in sample")
    return replace(loaded, content_hash=_sha256(data))


def _sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _load_pickle(path: Path) -> LoadedItems:
    digest = hashlib.sha256()
    raw = load_course_pickle(path, digest=digest)
    return require_items(pickled_items(raw, str(path), f"sha256:{digest.hexdigest()}"))


def pickled_items(raw: list[Item], source: str, content: str | None = None) -> LoadedItems:
    """Check the items a pickle held; drop (and count, by reason) those without a usable price.

    ``raw`` comes from ``load_course_pickle``, which checked that every item is plain. The
    prices follow the tables' rule (``read_price``): a positive finite number of dollars from
    one cent to ``MAX_PRICE``. ``content`` is the source's ``sha256:<hex>``.
    """
    prices = list(map(_PRICE_OF, raw))  # map over the list runs in C: 400,000 in milliseconds
    if _all_usable(prices):
        return LoadedItems(source, raw, len(raw), content_hash=content)
    dropped: Counter[str] = Counter()
    items: list[Item] = []
    for item, price in zip(raw, prices, strict=True):
        reason = read_price(price) if type(price) in (float, int) else UNPARSEABLE
        if isinstance(reason, str):
            dropped[reason] += 1
        else:
            items.append(item)
    return LoadedItems(source, items, len(raw), dict(dropped), content_hash=content)


def _all_usable(prices: list[Any]) -> bool:
    """Return True when every price is a float or int from a cent to ``MAX_PRICE``, in C."""
    if not prices:
        return True
    if not set(map(type, prices)) <= {float, int}:
        return False
    try:  # a NaN can hide from min and max but not from the sum; a huge int raises
        low, high = float(min(prices)), float(max(prices))
        return low >= MIN_PRICE and high <= MAX_PRICE and math.isfinite(sum(prices))
    except OverflowError:
        return False


def content_hash(source: str | os.PathLike[str]) -> str:
    """Return ``sha256:<hex>`` of a data file's bytes (the packaged file for ``"sample"``).

    The file is read in blocks (never memory-mapped: a file cut short while mapped would
    crash the process); a file that cannot be read gives ``SourceError``.
    """
    if str(source) == SAMPLE:
        return _sha256(resources.files("ftkit.data").joinpath("sample_items.jsonl.gz").read_bytes())
    digest = hashlib.sha256()
    try:
        with open(source, "rb") as stream:
            while chunk := stream.read(_HASH_BLOCK):
                digest.update(chunk)
    except OSError as err:
        raise SourceError(f"{source}: cannot hash the dataset ({err.strerror or err})") from None
    return f"sha256:{digest.hexdigest()}"


def load_items(
    source: str | os.PathLike[str],
    *,
    mapping: ColumnMapping | None = None,
    overrides: ColumnOverrides | None = None,
    split: Split = "train",
    allow_pickle: bool = True,
) -> LoadedItems:
    """Load items from ``"sample"`` or a local path; raise ``SourceError`` on bad input.

    A table is read by ``mapping``, or by the detected mapping keeping the columns named in
    ``overrides``; when no row survives the error counts the drops by reason. ``split``
    applies to the built-in sample only. ``allow_pickle=False`` (hosted mode) refuses pickles
    outright.
    """
    if str(source) == SAMPLE:
        return _load_sample(split)
    path = require_regular_file(Path(source).expanduser())
    if path.suffix.lower() in PICKLE_SUFFIXES:
        if not allow_pickle:
            raise SourceError(f"{path}: pickles are disabled on this server")
        return _load_pickle(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SourceError(f"{path}: cannot read ({err.strerror or err})") from None
    records = read_records(data, path.name, str(path))
    loaded = records_to_items(records, str(path), mapping=mapping, overrides=overrides)
    return replace(loaded, content_hash=_sha256(data))


def load_items_from_bytes(
    data: bytes,
    filename: str,
    *,
    mapping: ColumnMapping | None = None,
    overrides: ColumnOverrides | None = None,
    max_bytes: int = DEFAULT_UPLOAD_BYTES,
    limits: ReadLimits = DEFAULT_READ_LIMITS,
) -> LoadedItems:
    """Load items from uploaded bytes, checked by content first (``ftkit.sources.sniff``).

    ``max_bytes`` bounds the upload itself, ``limits`` what it decompresses to and its rows.
    Pickles are always refused, under any name: loading one can run code.
    """
    sniff_upload(data, filename, max_bytes=max_bytes)
    records = read_records(data, filename, limits=limits)
    loaded = records_to_items(records, filename, mapping=mapping, overrides=overrides)
    return replace(loaded, content_hash=_sha256(data))
