"""Tell what an uploaded file really is from its first bytes, before any parser sees it."""

from __future__ import annotations

from typing import Literal

from ftkit.errors import SourceError

__all__ = ["UPLOAD_SUFFIXES", "Kind", "check_upload", "sniff"]

Kind = Literal["pickle", "zip", "gzip", "parquet", "binary", "text"]

# What the uploader offers; the suffix decides the parser, the content must agree with it.
UPLOAD_SUFFIXES = ("csv", "tsv", "jsonl", "ndjson", "json", "parquet", "gz")

_PICKLE_PROTOCOLS = frozenset(range(2, 6))


def sniff(data: bytes) -> Kind:
    """Return what ``data`` looks like from its magic bytes (``text`` when nothing matches)."""
    head = data[:8]
    if len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS:
        return "pickle"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"PAR1"):
        return "parquet"
    if b"\x00" in data[:4096]:
        return "binary"
    return "text"


def _expected(filename: str) -> Kind:
    lowered = filename.lower()
    if lowered.endswith(".gz"):
        return "gzip"
    if lowered.endswith(".parquet"):
        return "parquet"
    if lowered.endswith((".pkl", ".pickle")):
        return "pickle"
    return "text"


_WHAT: dict[Kind, str] = {
    "pickle": "a Python pickle",
    "zip": "a zip archive (an Excel workbook is one too)",
    "gzip": "gzip-compressed",
    "parquet": "a Parquet file",
    "binary": "binary data, not text",
    "text": "plain text",
}


def check_upload(data: bytes, filename: str) -> None:
    """Raise ``SourceError`` when an upload is a pickle, empty, or not what its name says.

    Pickles are refused whatever their name, because loading one can run code.
    """
    actual = sniff(data)
    if actual == "pickle" or _expected(filename) == "pickle":
        raise SourceError(
            f"{filename}: pickles cannot be uploaded, because loading one can run code; "
            "give its local path on the Data page instead, or convert it to Parquet or JSONL"
        )
    if not data.strip():
        raise SourceError(f"{filename}: the file is empty")
    expected = _expected(filename)
    if actual != expected:
        hint = {
            "zip": "; unzip it and upload the CSV, JSONL or Parquet file inside",
            "gzip": "; name it with .gz at the end (e.g. data.csv.gz)",
            "parquet": "; name it .parquet",
            "binary": "; save it as UTF-8 text",
        }.get(actual, "")
        raise SourceError(
            f"{filename}: the name says {_WHAT[expected]}, but the content is {_WHAT[actual]}{hint}"
        )
