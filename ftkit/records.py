"""Parse tabular bytes (CSV, TSV, JSONL, JSON, Parquet; optionally gzipped) into records.

``ReadLimits`` bounds what a file may grow into: gzip is inflated a chunk at a time and stops
at ``max_bytes``, so a gzip bomb never takes more memory than the limit; ``max_rows`` is
checked before the rows become Python objects where the format allows (CSV, JSONL, Parquet).
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
    "DEFAULT_MAX_DECOMPRESSED_MB",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_READ_LIMITS",
    "ReadLimits",
    "inflate",
    "read_records",
]

DEFAULT_MAX_DECOMPRESSED_MB = 256  # an upload's data, decompressed (max_decompressed_mb)
DEFAULT_MAX_ROWS = 500_000  # an upload's rows (hosting: max_rows)
_CHUNK = 1 << 20
_GZ_KINDS = (".jsonl.gz", ".ndjson.gz", ".json.gz", ".csv.gz", ".tsv.gz")


@dataclass(frozen=True)
class ReadLimits:
    """The most a file may hold once decompressed (bytes) and read (rows); None is no limit."""

    max_bytes: int | None = None
    max_rows: int | None = None


DEFAULT_READ_LIMITS = ReadLimits(DEFAULT_MAX_DECOMPRESSED_MB * 1024 * 1024, DEFAULT_MAX_ROWS)


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):,.1f} MB"


def _too_big(label: str, limit: int, verb: str = "decompresses to") -> SourceError:
    return SourceError(f"{label}: {verb} more than the limit of {_megabytes(limit)} of data")


def _too_many(label: str, limit: int) -> SourceError:
    return SourceError(f"{label}: has more than the limit of {limit:,} rows")


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


def _parse_json_lines(data: bytes, label: str, max_rows: int | None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
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
        records.append(record)
    return records


def _parse_json(data: bytes, label: str) -> list[dict[str, Any]]:
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


def _parse_csv(data: bytes, sep: str, max_rows: int | None) -> list[dict[str, Any]]:
    import pandas as pd

    sep = _separator(data, sep)
    rows = None if max_rows is None else max_rows + 1
    # cells stay text, as written: a price column of "1.299" is not quietly made 1.299
    frame = pd.read_csv(io.BytesIO(data), sep=sep, nrows=rows, dtype=str)
    return frame.to_dict("records")  # type: ignore[return-value]


def _parse_parquet(data: bytes, label: str, limits: ReadLimits) -> list[dict[str, Any]]:
    import pandas as pd
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    if limits.max_rows is not None and meta.num_rows > limits.max_rows:
        raise _too_many(label, limits.max_rows)
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise _too_big(label, limits.max_bytes)
    return pd.read_parquet(io.BytesIO(data)).to_dict("records")  # type: ignore[return-value]


def _kind(name: str) -> str:
    lowered = name.lower()
    return next((s for s in _GZ_KINDS if lowered.endswith(s)), Path(lowered).suffix)


def _parse(data: bytes, kind: str, label: str, limits: ReadLimits) -> list[dict[str, Any]]:
    if kind in (".jsonl", ".ndjson"):
        return _parse_json_lines(data, label, limits.max_rows)
    if kind == ".json":
        return _parse_json(data, label)
    if kind in (".csv", ".tsv"):
        return _parse_csv(data, "\t" if kind == ".tsv" else ",", limits.max_rows)
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
