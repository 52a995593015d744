"""Check an upload by its content, not only its name: size, and magic bytes against extension.

Pure: takes the bytes and the name, returns nothing or raises ``SourceError`` naming the file.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import stat
import zlib
from pathlib import Path

import orjson

from ftkit.errors import FtkitError, SourceError

__all__ = [
    "DEFAULT_UPLOAD_BYTES",
    "TEXT_SUFFIXES",
    "UPLOAD_SUFFIXES",
    "require_regular_file",
    "sniff_upload",
]

DEFAULT_UPLOAD_BYTES = 200 * 1024 * 1024  # Streamlit's server.maxUploadSize in config.toml

TEXT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".txt")
# what a file uploader offers (without dots); ".gz" covers .csv.gz, .jsonl.gz and friends
UPLOAD_SUFFIXES = ("csv", "tsv", "jsonl", "ndjson", "json", "parquet", "gz")
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"\x1f\x8b", "a gzip file"),
    (b"PAR1", "a Parquet file"),
    (b"\x80\x02", "a Python pickle"),
    (b"\x80\x03", "a Python pickle"),
    (b"\x80\x04", "a Python pickle"),
    (b"\x80\x05", "a Python pickle"),
    (b"%PDF", "a PDF"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)
_TEXT_PICKLE = re.compile(rb"(?m)^[pg]\d+$")  # protocol 0 pickles: memo lines such as "p0" or "g1"
_SNIFF_BYTES = 64 * 1024


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def require_regular_file(
    path: str | os.PathLike[str], *, error: type[FtkitError] = SourceError
) -> Path:
    """Return ``path`` if it names a regular file (after symlinks), by ``stat`` before opening.

    A folder, named pipe, device or socket would block or never end, so it is refused with
    ``error`` (one line naming the path), as is a path that does not exist or cannot be read.
    """
    source = Path(path)
    try:
        mode = source.stat().st_mode
    except FileNotFoundError:
        raise error(f"{source}: no such file") from None
    except OSError as err:
        raise error(f"{source}: cannot read ({err.strerror or err})") from None
    except ValueError:  # a NUL byte in the path
        raise error(f"{source!r}: not a valid file name") from None
    if not stat.S_ISREG(mode):
        what = next((name for test, name in _KINDS if test(mode)), "a special file")
        raise error(f"{source}: is {what}, not a regular file; give a file")
    return source


def _magic(data: bytes) -> str | None:
    for prefix, what in _MAGIC:
        if data.startswith(prefix):
            return what
    return None


def _suffix(filename: str) -> str:
    lowered = filename.lower()
    for suffix in (".jsonl.gz", ".ndjson.gz", ".json.gz", ".csv.gz"):
        if lowered.endswith(suffix):
            return suffix
    dot = lowered.rfind(".")
    return lowered[dot:] if dot >= 0 else ""


def _check_text(data: bytes, filename: str, suffix: str, *, whole: bool = True) -> None:
    found = _magic(data)
    if found:
        raise SourceError(f"{filename}: is really {found}, not a {suffix.lstrip('.')} file")
    head = data[:_SNIFF_BYTES]
    protocol_1 = data[:1] in (b"]", b"}", b"(", b"c") and b"q\x00" in head[:256]
    if (protocol_1 or _TEXT_PICKLE.search(head)) and data.rstrip().endswith(b"."):
        raise SourceError(f"{filename}: is really a Python pickle, not a {suffix.lstrip('.')} file")
    if b"\x00" in head:
        raise SourceError(f"{filename}: holds binary data (NUL bytes), not {suffix.lstrip('.')}")
    if suffix == ".json" and whole:  # the head of a large .json.gz is cut mid-value
        try:
            orjson.loads(data)
        except orjson.JSONDecodeError as err:
            raise SourceError(f"{filename}: is not valid JSON ({err})") from None
    if suffix in (".jsonl", ".ndjson"):
        first = next((line for line in head.splitlines() if line.strip()), b"")
        if first and not first.lstrip(b"\xef\xbb\xbf \t").startswith(b"{"):
            raise SourceError(f"{filename}: line 1 is not a JSON object, so this is not JSON Lines")


def _gunzip_head(data: bytes, filename: str) -> bytes:
    """Return the first bytes a .gz inflates to; the whole file is inflated (bounded) later."""
    if not data.startswith(b"\x1f\x8b"):
        raise SourceError(f"{filename}: is named .gz but is not gzip-compressed")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return stream.read(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as err:
        raise SourceError(f"{filename}: is a damaged gzip file ({err})") from None


def sniff_upload(data: bytes, filename: str, *, max_bytes: int) -> None:
    """Raise ``SourceError`` unless ``data`` is within ``max_bytes`` and matches its extension.

    A ``.csv`` that is really a zip, a pickle or a Parquet file, a small ``.json`` that does
    not parse, text with NUL bytes, a ``.parquet`` without Parquet's magic, and pickles under any
    name are refused. For a ``.gz`` only the head is checked here: ``ftkit.sources.tables`` inflates
    the rest within its limit.
    """
    if len(data) > max_bytes:
        raise SourceError(
            f"{filename}: {len(data) / 1e6:,.1f} MB is over the upload limit of "
            f"{max_bytes / 1e6:,.1f} MB"
        )
    if not data:
        raise SourceError(f"{filename}: is empty")
    suffix = _suffix(filename)
    if _magic(data) == "a Python pickle" or suffix in (".pkl", ".pickle"):
        raise SourceError(
            f"{filename}: pickles cannot be uploaded, because loading one can run code; "
            "convert it to Parquet or JSONL"
        )
    if suffix.endswith(".gz"):
        head = _gunzip_head(data, filename)
        whole = len(head) < _SNIFF_BYTES
        _check_text(head, filename, suffix.removesuffix(".gz"), whole=whole)
    elif suffix == ".parquet":
        if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
            found = _magic(data)
            if found:
                raise SourceError(f"{filename}: is really {found}, not a Parquet file")
            raise SourceError(f"{filename}: is not a Parquet file (no PAR1 marker at both ends)")
    elif suffix in TEXT_SUFFIXES:  # a larger .json is parsed once, within limits, when read
        _check_text(data, filename, suffix, whole=len(data) <= _SNIFF_BYTES)
    else:
        raise SourceError(
            f"{filename}: unsupported file type '{suffix or filename}' "
            "(use .csv, .tsv, .jsonl, .json, .parquet, or one of those gzipped)"
        )
