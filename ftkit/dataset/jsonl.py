"""Strict JSONL, written atomically: a temp file in the same folder, fsync, then ``os.replace``."""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import orjson

from ftkit.dataset.staging import folder_lock, held_signals, remove_stale_staging, staging_path
from ftkit.errors import OutputError, SourceError
from ftkit.sources.sniff import require_regular_file

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = [
    "Digest",
    "atomic_writer",
    "dumps_line",
    "read_jsonl",
    "write_encoded",
    "write_files_together",
    "write_jsonl",
]

_BUFFER = 1 << 20


class Digest(Protocol):
    """What ``write_jsonl`` needs of a ``hashlib`` object."""

    def update(self, data: ReadableBuffer, /) -> None: ...

    def hexdigest(self) -> str: ...


_ROWS_PER_CHUNK = 512


def _nonfinite_path(obj: Any, path: str = "") -> str | None:
    """Return where ``obj`` holds NaN or an infinity, else None (orjson would write null)."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else (path or "value")
    if isinstance(obj, dict):
        for key, value in obj.items():
            found = _nonfinite_path(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            found = _nonfinite_path(value, f"{path}[{index}]")
            if found:
                return found
    return None


def dumps_line(obj: Any, *, check_floats: bool = True) -> bytes:
    """Return one strict-JSON line (UTF-8, newline-terminated) for ``obj``.

    Raises ``OutputError`` for NaN or infinities, which strict JSON cannot hold. Pass
    ``check_floats=False`` only when ``obj`` is known to hold no floats (rendered messages).
    """
    if check_floats and (where := _nonfinite_path(obj)):
        raise OutputError(f"cannot write {where}: NaN and infinities are not valid JSON")
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


def write_files_together(
    plan: Sequence[tuple[Path, Callable[[Path], object]]], *, folder: Path, what: str
) -> None:
    """Write several files so that none replaces its old version unless all were written.

    The whole step holds an exclusive lock on ``folder``: another run writing there at the same
    time makes this one raise ``OutputError`` at once, with nothing written. Under the lock,
    staging files left by a killed run are removed; each ``(target, write)`` pair then writes
    in full to this process's staging name beside its target, and only then are the staged
    files moved into place, with Ctrl-C and SIGTERM held back between the moves. On failure
    every staged file is removed and ``OutputError`` names ``folder`` and ``what`` was being
    written.
    """
    with folder_lock(folder):
        remove_stale_staging(folder, [target.name for target, _ in plan])
        staged: list[tuple[Path, Path]] = []
        try:
            for target, write in plan:
                staged.append((staging_path(target), target))
                write(staged[-1][0])
            with held_signals():
                for staging, target in staged:
                    os.replace(staging, target)
        except OSError as err:
            raise OutputError(
                f"{folder}: cannot write the {what} ({err.strerror or err})"
            ) from None
        finally:
            for staging, _ in staged:
                with contextlib.suppress(FileNotFoundError):
                    staging.unlink()


def write_jsonl(
    path: str | os.PathLike[str],
    rows: Iterable[Any],
    *,
    check_floats: bool = True,
    digest: Digest | None = None,
) -> int:
    """Write ``rows`` as strict JSONL to ``path`` atomically; return the number of lines."""
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        chunk: list[bytes] = []
        for row in rows:
            chunk.append(dumps_line(row, check_floats=check_floats))
            if len(chunk) >= _ROWS_PER_CHUNK:
                count += len(chunk)
                yield b"".join(chunk)
                chunk.clear()
        count += len(chunk)
        yield b"".join(chunk)

    write_encoded(path, chunks(), digest=digest)
    return count


def write_encoded(
    path: str | os.PathLike[str], chunks: Iterable[bytes], *, digest: Digest | None = None
) -> None:
    """Write already-encoded JSONL ``chunks`` to ``path`` atomically.

    With ``digest`` (a ``hashlib`` object) every chunk is also hashed as it is written.
    """
    with atomic_writer(path) as handle:
        for chunk in chunks:
            handle.write(chunk)
            if digest is not None:
                digest.update(chunk)


def read_jsonl(path: str | os.PathLike[str]) -> list[Any]:
    """Read a JSONL file (blank lines skipped); raise ``SourceError`` naming the bad line."""
    source = require_regular_file(path)
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
