"""Strict JSONL, written atomically: a temp file in the same folder, fsync, then ``os.replace``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ftkit.errors import OutputError, SourceError

__all__ = ["atomic_writer", "dumps_line", "read_jsonl", "write_jsonl"]

_BUFFER = 1 << 20


def dumps_line(obj: Any) -> bytes:
    """Return one strict-JSON line (UTF-8, no NaN, newline-terminated) for ``obj``."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError as err:  # orjson raises JSONEncodeError (a TypeError) for bad values
        raise OutputError(f"cannot encode a line as strict JSON: {err}") from None


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only if the block completes.

    On any exception the temp file is removed and a previous file at ``path`` is untouched.
    Raises ``OutputError`` when the folder cannot be written.
    """
    target = Path(path)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise OutputError(f"{folder}: cannot write there ({err.strerror or err})") from None
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(err, OSError):
            raise OutputError(f"{target}: cannot write ({err.strerror or err})") from None
        raise


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> int:
    """Write ``rows`` as strict JSONL to ``path`` atomically; return the number of lines."""
    count = 0
    with atomic_writer(path) as handle:
        chunk: list[bytes] = []
        for row in rows:
            chunk.append(dumps_line(row))
            count += 1
            if len(chunk) >= 4096:
                handle.write(b"".join(chunk))
                chunk.clear()
        handle.write(b"".join(chunk))
    return count


def read_jsonl(path: str | os.PathLike[str]) -> list[Any]:
    """Read a JSONL file (blank lines skipped); raise ``SourceError`` naming the bad line."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as err:
        raise SourceError(f"{source}: cannot read ({err.strerror or err})") from None
    rows: list[Any] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError as err:
            raise SourceError(f"{source}: line {number} is not valid JSON ({err})") from None
    return rows
