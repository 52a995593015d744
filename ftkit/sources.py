"""Read items from the built-in sample, the course's pickles, CSV, JSONL (.gz), JSON and Parquet."""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import mmap
import operator
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import orjson

from ftkit.curation import MIN_CHARS, item_from_fields, parse_price, text_of_record
from ftkit.errors import SourceError
from ftkit.items import Item
from ftkit.pickles import Keep, load_course_pickle
from ftkit.sniff import DEFAULT_UPLOAD_BYTES, sniff_upload

__all__ = [
    "PICKLE_SUFFIXES",
    "SAMPLE",
    "ColumnMapping",
    "LoadedItems",
    "content_hash",
    "detect_mapping",
    "load_items",
    "load_items_from_bytes",
    "pickled_items",
    "read_records",
]

SAMPLE = "sample"
PICKLE_SUFFIXES = (".pkl", ".pickle")
Split = Literal["train", "test", "all"]

_TITLE = ("title", "name", "product_name", "product", "product_title")
_TEXT = ("text", "description", "features", "details", "content", "body", "summary")
_PRICE = ("price", "price_usd", "list_price", "sale_price", "cost", "amount")
_CATEGORY = ("category", "main_category", "categories", "department")
_AMAZON_TEXT = ("description", "features", "details")
_HASH_BLOCK = 1 << 20
_PRICE_OF = operator.attrgetter("price")
_PROMPT_OF = operator.attrgetter("prompt")


@dataclass(frozen=True)
class ColumnMapping:
    """Which fields hold the title, the text (one or more, joined in order), price and category."""

    price: str
    title: str | None = None
    text: tuple[str, ...] = ()
    category: str | None = None
    min_chars: int = 0


@dataclass(frozen=True)
class LoadedItems:
    """Items read from one source, with what was dropped and why."""

    source: str
    items: list[Item]
    rows: int
    dropped: dict[str, int] = field(default_factory=dict)
    mapping: ColumnMapping | None = None
    content_hash: str | None = None  # "sha256:<hex>" of the source's bytes, when read from them

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


def _pick(columns: Sequence[str], candidates: Iterable[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    return None


def detect_mapping(columns: Sequence[str], label: str = "data") -> ColumnMapping:
    """Guess the mapping from column names; raise ``SourceError`` when there is no price."""
    price = _pick(columns, _PRICE)
    if price is None:
        raise SourceError(
            f"{label}: no price column (looked for {', '.join(_PRICE)}; "
            f"found {', '.join(map(str, columns[:12])) or 'no columns'})"
        )
    title = _pick(columns, _TITLE)
    lowered = {c.lower() for c in columns}
    if title is not None and lowered.intersection(_AMAZON_TEXT):
        text = tuple(c for name in _AMAZON_TEXT for c in columns if c.lower() == name)
        min_chars = MIN_CHARS if len(text) > 1 else 0
    else:
        first = _pick(columns, _TEXT)
        text, min_chars = ((first,) if first else ()), 0
    if title is None and not text:
        raise SourceError(f"{label}: no title or text column (looked for {', '.join(_TITLE)})")
    return ColumnMapping(
        price=price,
        title=title,
        text=text,
        category=_pick(columns, _CATEGORY),
        min_chars=min_chars,
    )


def _category(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, float):
        return ""
    if isinstance(value, Iterable):
        parts = [str(v) for v in value if v]
        return parts[0] if parts else ""
    return str(value)


def items_from_records(
    records: Sequence[Mapping[str, Any]], mapping: ColumnMapping, label: str
) -> LoadedItems:
    """Turn raw records into items by ``mapping``, counting the rows dropped and why."""
    dropped: Counter[str] = Counter()
    items: list[Item] = []
    for record in records:
        price = parse_price(record.get(mapping.price))
        if price is None:
            dropped["no usable price"] += 1
            continue
        title = str(record.get(mapping.title) or "").strip() if mapping.title else ""
        text = text_of_record(record, mapping.text).strip()
        if not title and not text:
            dropped["no title or text"] += 1
            continue
        if len(text) < mapping.min_chars:
            dropped[f"under {mapping.min_chars} characters of text"] += 1
            continue
        category = _category(record.get(mapping.category)) if mapping.category else ""
        items.append(item_from_fields(title or text[:80], text, price, category))
    return LoadedItems(label, items, len(records), dict(dropped), mapping)


def _parse_json_lines(data: bytes, label: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise SourceError(f"{label}: line {number} is not valid JSON ({err})") from None
        if not isinstance(record, dict):
            raise SourceError(f"{label}: line {number} is not a JSON object")
        records.append(record)
    return records


def _kind(name: str) -> str:
    lowered = name.lower()
    for suffix in (".jsonl.gz", ".ndjson.gz", ".json.gz", ".csv.gz"):
        if lowered.endswith(suffix):
            return suffix
    return Path(lowered).suffix


def read_records(data: bytes, name: str, label: str | None = None) -> list[dict[str, Any]]:
    """Parse tabular bytes (CSV, JSONL, JSON, Parquet; optionally gzipped) into records."""
    label = label or name
    kind = _kind(name)
    try:
        if kind.endswith(".gz"):
            data = gzip.decompress(data)
            kind = kind.removesuffix(".gz")
        if kind in (".jsonl", ".ndjson"):
            return _parse_json_lines(data, label)
        if kind == ".json":
            parsed = orjson.loads(data)
            if isinstance(parsed, dict):
                parsed = next((v for v in parsed.values() if isinstance(v, list)), [parsed])
            if not isinstance(parsed, list) or not all(isinstance(r, dict) for r in parsed):
                raise SourceError(f"{label}: expected a JSON list of objects")
            return parsed
        if kind in (".csv", ".tsv"):
            import pandas as pd

            frame = pd.read_csv(io.BytesIO(data), sep="\t" if kind == ".tsv" else ",")
            return frame.to_dict("records")  # type: ignore[return-value]
        if kind == ".parquet":
            import pandas as pd

            return pd.read_parquet(io.BytesIO(data)).to_dict("records")  # type: ignore[return-value]
    except SourceError:
        raise
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SourceError(f"{label}: cannot parse as {kind.lstrip('.')} ({message})") from None
    except Exception as err:  # pandas and pyarrow raise many kinds for a corrupt file
        raise SourceError(f"{label}: cannot parse as {kind.lstrip('.')} ({err})") from None
    raise SourceError(
        f"{label}: unsupported file type '{kind or name}' "
        "(use .csv, .jsonl, .jsonl.gz, .json, .parquet, or a course .pkl)"
    )


def _records_to_items(
    records: list[dict[str, Any]], mapping: ColumnMapping | None, label: str
) -> LoadedItems:
    if not records:
        raise SourceError(f"{label}: holds no rows")
    columns = list(dict.fromkeys(key for record in records[:200] for key in record))
    mapping = mapping or detect_mapping(columns, label)
    missing = [c for c in (mapping.price, mapping.title, *mapping.text) if c and c not in columns]
    if missing:
        raise SourceError(f"{label}: no column named {', '.join(missing)}")
    return items_from_records(records, mapping, label)


def _load_sample(split: Split) -> LoadedItems:
    data = resources.files("ftkit.data").joinpath("sample_items.jsonl.gz").read_bytes()
    records = _parse_json_lines(gzip.decompress(data), "built-in sample")
    if split != "all":
        records = [r for r in records if r.get("split") == split]
    loaded = _records_to_items(records, None, "built-in sample")
    return replace(loaded, content_hash=_sha256(data))


def _sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _load_pickle(path: Path, keep: Keep | None) -> LoadedItems:
    digest = hashlib.sha256()
    raw = load_course_pickle(path, digest=digest, keep=keep)
    return pickled_items(raw, str(path), f"sha256:{digest.hexdigest()}")


def pickled_items(raw: list[Item], source: str, content: str | None = None) -> LoadedItems:
    """Check the items a pickle held; drop (and count) those without a usable price.

    Raises ``SourceError`` naming ``source`` when an item has no price or a prompt that is not
    text. ``content`` is the source's ``sha256:<hex>``.
    """
    try:  # map over the list runs in C: 400,000 items cost milliseconds, not a loop
        prices = list(map(_PRICE_OF, raw))
        prompt_types = set(map(type, map(_PROMPT_OF, raw)))
    except AttributeError:
        raise SourceError(f"{source}: an item has no price") from None
    if not prompt_types <= {str}:
        raise SourceError(f"{source}: an item's prompt is not text")
    if _all_usable(prices):
        return LoadedItems(source, raw, len(raw), content_hash=content)
    unusable = {index for index, price in enumerate(prices) if not _usable(price)}
    items = [item for index, item in enumerate(raw) if index not in unusable]
    return LoadedItems(
        source, items, len(raw), {"no usable price": len(unusable)}, content_hash=content
    )


def _usable(price: object) -> bool:
    """Return True for a positive price that is a finite float (or an int that fits one)."""
    if type(price) not in (float, int):
        return False
    try:
        return 0 < float(price) < math.inf  # type: ignore[arg-type]
    except OverflowError:
        return False


def _all_usable(prices: list[Any]) -> bool:
    """Return True when every price is a positive finite number, checked without a loop."""
    if not prices:
        return True
    if not set(map(type, prices)) <= {float, int}:
        return False
    # a NaN or an infinity makes the sum non-finite; a huge but finite sum just takes the loop
    try:
        return min(prices) > 0 and math.isfinite(sum(prices))
    except OverflowError:
        return False


def content_hash(source: str | os.PathLike[str]) -> str:
    """Return ``sha256:<hex>`` of a data file's bytes (the packaged file for ``"sample"``).

    The file is memory-mapped and hashed in one call that releases the GIL throughout, so
    hashing on a second thread runs alongside the first; files that cannot be mapped (empty
    ones, pipes) are read instead.
    """
    if str(source) == SAMPLE:
        return _sha256(resources.files("ftkit.data").joinpath("sample_items.jsonl.gz").read_bytes())
    digest = hashlib.sha256()
    try:
        with open(source, "rb") as stream:
            try:
                with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    digest.update(mapped)
            except (OSError, ValueError):
                while chunk := stream.read(_HASH_BLOCK):
                    digest.update(chunk)
    except OSError as err:
        raise SourceError(f"{source}: cannot hash the dataset ({err.strerror or err})") from None
    return f"sha256:{digest.hexdigest()}"


def load_items(
    source: str | os.PathLike[str],
    *,
    mapping: ColumnMapping | None = None,
    split: Split = "train",
    allow_pickle: bool = True,
    keep: Keep | None = None,
) -> LoadedItems:
    """Load items from ``"sample"`` or a local path; raise ``SourceError`` on bad input.

    ``split`` applies to the built-in sample only. ``allow_pickle=False`` (hosted mode) refuses
    pickles outright. ``keep`` receives loading state that would be slow to free (a pickle's
    memo) when the caller means to leave it to process exit.
    """
    if str(source) == SAMPLE:
        return _load_sample(split)
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a data file")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        if not allow_pickle:
            raise SourceError(f"{path}: pickles are disabled on this server")
        return _load_pickle(path, keep)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SourceError(f"{path}: cannot read ({err.strerror or err})") from None
    loaded = _records_to_items(read_records(data, path.name, str(path)), mapping, str(path))
    return replace(loaded, content_hash=_sha256(data))


def load_items_from_bytes(
    data: bytes,
    filename: str,
    *,
    mapping: ColumnMapping | None = None,
    max_bytes: int = DEFAULT_UPLOAD_BYTES,
) -> LoadedItems:
    """Load items from uploaded bytes, checked by content first (``ftkit.sniff``).

    Pickles are always refused, under any name: loading one can run code.
    """
    sniff_upload(data, filename, max_bytes=max_bytes)
    loaded = _records_to_items(read_records(data, filename), mapping, filename)
    return replace(loaded, content_hash=_sha256(data))
