"""Parse tabular bytes (CSV, TSV, JSONL, JSON, Parquet; optionally gzipped) into records.

``ReadLimits`` bounds what a file may grow into: gzip is inflated a chunk at a time and stops
at ``max_bytes``, so a gzip bomb never takes more memory than the limit; ``max_rows`` is
checked before the rows become Python objects where the format allows (CSV, JSONL, Parquet).
``max_cells`` bounds rows × columns (values, for a JSON document), because a small file of
empty cells (``,,,,`` or ``{},{},``) grows 30 to 90 times over as Python objects; a table
has at most ``MAX_COLUMNS`` columns.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ftkit.errors import SourceError

__all__ = [
    "DEFAULT_MAX_CELLS",
    "DEFAULT_MAX_DECOMPRESSED_MB",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_READ_LIMITS",
    "MAX_COLUMNS",
    "ReadLimits",
    "inflate",
    "read_records",
]

DEFAULT_MAX_DECOMPRESSED_MB = 256  # an upload's data, decompressed (max_decompressed_mb)
DEFAULT_MAX_ROWS = 500_000  # an upload's rows (hosting: max_rows)
DEFAULT_MAX_CELLS = 5_000_000  # rows × columns: about 450 MB as Python objects
MAX_COLUMNS = 1_000
_CHUNK = 1 << 20
_GZ_KINDS = (".jsonl.gz", ".ndjson.gz", ".json.gz", ".csv.gz", ".tsv.gz")


@dataclass(frozen=True)
class ReadLimits:
    """The most a file may hold once decompressed (bytes), read (rows) and as values (cells).

    None is no limit.
    """

    max_bytes: int | None = None
    max_rows: int | None = None
    max_cells: int | None = None


DEFAULT_READ_LIMITS = ReadLimits(
    DEFAULT_MAX_DECOMPRESSED_MB * 1024 * 1024, DEFAULT_MAX_ROWS, DEFAULT_MAX_CELLS
)


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):,.1f} MB"


def _too_big(label: str, limit: int, verb: str = "decompresses to") -> SourceError:
    return SourceError(f"{label}: {verb} more than the limit of {_megabytes(limit)} of data")


def _too_many(label: str, limit: int, what: str = "rows") -> SourceError:
    return SourceError(f"{label}: has more than the limit of {limit:,} {what}")


def _too_many_cells(label: str, limit: int) -> SourceError:
    return _too_many(label, limit, "cells (rows × columns)")


def inflate(data: bytes, label: str, max_bytes: int | None = None) -> bytes:
    """Return gunzipped ``data``, stopping with ``SourceError`` once it passes ``max_bytes``."""
    chunks: list[bytes] = []
    total = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if max_bytes is not None and total > max_bytes:
                    raise _too_big(label, max_bytes)
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as err:
        raise SourceError(f"{label}: is a damaged gzip file ({err})") from None
    return b"".join(chunks)


def _parse_json_lines(data: bytes, label: str, limits: ReadLimits) -> list[dict[str, Any]]:
    max_rows, max_cells = limits.max_rows, limits.max_cells
    records: list[dict[str, Any]] = []
    cells = 0
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        if max_rows is not None and len(records) >= max_rows:
            raise _too_many(label, max_rows)
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise SourceError(f"{label}: line {number} is not valid JSON ({err})") from None
        if not isinstance(record, dict):
            raise SourceError(f"{label}: line {number} is not a JSON object")
        cells += max(len(record), 1)
        if max_cells is not None and cells > max_cells:
            raise _too_many_cells(label, max_cells)
        records.append(record)
    return records


def _parse_json(data: bytes, label: str, max_cells: int | None) -> list[dict[str, Any]]:
    # every value after the first in an array or object follows a comma: an upper bound
    if max_cells is not None and data.count(b",") >= max_cells:
        raise _too_many(label, max_cells, "values (use JSONL for a file this large)")
    parsed = orjson.loads(data)
    if isinstance(parsed, dict):
        parsed = next((v for v in parsed.values() if isinstance(v, list)), [parsed])
    if not isinstance(parsed, list) or not all(isinstance(r, dict) for r in parsed):
        raise SourceError(f"{label}: expected a JSON list of objects")
    return parsed


def _separator(data: bytes, sep: str) -> str:
    """Return ";" for a CSV whose header has more semicolons than commas (a European export)."""
    header = data[: data.find(b"\n")] if b"\n" in data else data
    return ";" if sep == "," and header.count(b";") > header.count(b",") else sep


def _parse_csv(data: bytes, sep: str, label: str, limits: ReadLimits) -> list[dict[str, Any]]:
    import pandas as pd

    sep = _separator(data, sep)
    header = data[: data.find(b"\n")] if b"\n" in data else data
    columns = header.count(sep.encode()) + 1  # at least as many as the header names
    if columns > MAX_COLUMNS:
        raise _too_many(label, MAX_COLUMNS, "columns")
    cell_rows = None if limits.max_cells is None else limits.max_cells // columns
    bounds = [n + 1 for n in (limits.max_rows, cell_rows) if n is not None]
    # cells stay text, as written: a price column of "1.299" is not quietly made 1.299
    frame = pd.read_csv(io.BytesIO(data), sep=sep, nrows=min(bounds) if bounds else None, dtype=str)
    over = cell_rows is not None and (len(frame) > cell_rows or frame.size > cell_rows * columns)
    if over and limits.max_cells is not None:
        raise _too_many_cells(label, limits.max_cells)
    return frame.to_dict("records")  # type: ignore[return-value]


def _parse_parquet(data: bytes, label: str, limits: ReadLimits) -> list[dict[str, Any]]:
    import pandas as pd
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    if limits.max_rows is not None and meta.num_rows > limits.max_rows:
        raise _too_many(label, limits.max_rows)
    if meta.num_columns > MAX_COLUMNS:
        raise _too_many(label, MAX_COLUMNS, "columns")
    if limits.max_cells is not None and meta.num_rows * meta.num_columns > limits.max_cells:
        raise _too_many_cells(label, limits.max_cells)
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise _too_big(label, limits.max_bytes)
    return pd.read_parquet(io.BytesIO(data)).to_dict("records")  # type: ignore[return-value]


def _kind(name: str) -> str:
    lowered = name.lower()
    return next((s for s in _GZ_KINDS if lowered.endswith(s)), Path(lowered).suffix)


def _parse(data: bytes, kind: str, label: str, limits: ReadLimits) -> list[dict[str, Any]]:
    if kind in (".jsonl", ".ndjson"):
        return _parse_json_lines(data, label, limits)
    if kind == ".json":
        return _parse_json(data, label, limits.max_cells)
    if kind in (".csv", ".tsv"):
        return _parse_csv(data, "\t" if kind == ".tsv" else ",", label, limits)
    if kind == ".parquet":
        return _parse_parquet(data, label, limits)
    raise SourceError(
        f"{label}: unsupported file type '{kind or label}' "
        "(use .csv, .jsonl, .jsonl.gz, .json, .parquet, or a course .pkl)"
    )


def read_records(
    data: bytes, name: str, label: str | None = None, *, limits: ReadLimits | None = None
) -> list[dict[str, Any]]:
    """Parse tabular bytes into records; raise ``SourceError`` naming ``label`` on bad input."""
    label = label or name
    limits = limits or ReadLimits()
    kind = _kind(name)
    try:
        if kind.endswith(".gz"):
            data = inflate(data, label, limits.max_bytes)
            kind = kind.removesuffix(".gz")
        elif limits.max_bytes is not None and len(data) > limits.max_bytes and kind != ".parquet":
            raise _too_big(label, limits.max_bytes, "holds")
        records = _parse(data, kind, label, limits)
    except SourceError:
        raise
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SourceError(f"{label}: cannot parse as {kind.lstrip('.')} ({message})") from None
    except Exception as err:  # pandas and pyarrow raise many kinds for a corrupt file
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SourceError(f"{label}: cannot parse as {kind.lstrip('.')} ({message})") from None
    if limits.max_rows is not None and len(records) > limits.max_rows:
        raise _too_many(label, limits.max_rows)
    return records
