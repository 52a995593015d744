"""Strict JSONL, written atomically: a temp file in the same folder, fsync, then ``os.replace``."""

from __future__ import annotations

import contextlib
import errno
import math
import mmap
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import orjson

from ftkit.errors import OutputError, SourceError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = [
    "Digest",
    "FileSegment",
    "atomic_writer",
    "dumps_line",
    "read_jsonl",
    "write_all",
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

    Each ``(target, write)`` pair writes in full to a staging name beside its target; only then
    are the staged files moved into place. On failure every staged file is removed and
    ``OutputError`` names ``folder`` and ``what`` was being written.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for target, write in plan:
            staging = target.with_name(f".{target.name}.staged")
            write(staging)
            staged.append((staging, target))
        for staging, target in staged:
            _replace(staging, target)
    except OSError as err:
        raise OutputError(f"{folder}: cannot write the {what} ({err.strerror or err})") from None
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


@dataclass(frozen=True)
class FileSegment:
    """Lines already encoded into another file: ``size`` bytes from ``offset`` of ``fd``."""

    fd: int
    offset: int
    size: int


def write_encoded(
    path: str | os.PathLike[str],
    chunks: Iterable[bytes | FileSegment],
    *,
    digest: Digest | None = None,
) -> None:
    """Write already-encoded JSONL ``chunks`` to ``path`` atomically.

    Encoding runs on this thread while a second thread writes finished chunks to disk (and
    feeds them to ``digest``, a ``hashlib`` object, when given), so a large file costs little
    more than encoding it. A ``FileSegment`` is copied from its file by the system.
    """
    with atomic_writer(path) as handle, _ChunkWriter(handle, digest) as sink:
        for chunk in chunks:
            sink.put(chunk)


def _write_joined(fd: int, buffers: Sequence[ReadableBuffer]) -> int:
    """``os.writev`` where there is none (Windows): join the buffers and write them."""
    return os.write(fd, b"".join(buffers))


_writev = getattr(os, "writev", None) or _write_joined


def write_all(fd: int, buffers: Sequence[bytes]) -> int:
    """Write ``buffers`` to ``fd`` in order, with one ``writev`` unless it falls short."""
    return _write_buffers(_writev, fd, buffers)


def _write_buffers(
    write: Callable[[int, Sequence[ReadableBuffer]], int], fd: int, buffers: Sequence[bytes]
) -> int:
    size = sum(map(len, buffers))
    done = write(fd, buffers)
    if done < size:  # a short write: finish the rest one buffer at a time
        rest = memoryview(b"".join(buffers))[done:]
        while rest:
            rest = rest[write(fd, [rest]) :]
    return size


class _ChunkWriter:
    """Write byte chunks to a file on a background thread; re-raise its error on exit.

    Chunks are gathered into blocks of a few megabytes before they are handed over: the
    thread needs the GIL between its system calls, and a few large hand-overs keep it from
    waiting on the encoding thread once per small chunk. A block is written with one
    ``writev`` and never copied.

    With a ``digest`` a third thread hashes what has been written, reading it back from the
    file in ranges of tens of megabytes: each range is one ``update`` call that holds no GIL,
    so hashing costs the encoding thread a few hand-overs in all rather than one per block.
    """

    # the one system call; tests replace it to fill the disk
    _write = staticmethod(_writev)
    _BLOCK = 4 << 20
    _MAX_CHUNKS = 512  # well under the system's limit of buffers per writev
    # Flush to disk as the file grows, so the caller's final fsync has little left to wait for.
    _SYNC_EVERY = 32 << 20
    _HASH_EVERY = 64 << 20

    def __init__(self, handle: BinaryIO, digest: Digest | None = None) -> None:
        self._handle = handle
        self._digest = digest
        self._queue: queue.Queue[list[bytes] | FileSegment | None] = queue.Queue(maxsize=4)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ftkit-jsonl-writer", daemon=True)
        # what the writer has written (set before ``_written_all``), and the hasher's wake-up
        self._written = 0
        self._written_all = False
        self._to_hash = threading.Event()
        self._hasher = None
        if digest is not None:
            self._hasher = threading.Thread(
                target=self._hash_written, args=(digest,), name="ftkit-jsonl-hasher", daemon=True
            )

    def __enter__(self) -> _ChunkWriter:
        self._handle.flush()  # chunks go around the buffer: os.writev drops the GIL
        self._thread.start()
        if self._hasher is not None:
            self._hasher.start()
        return self

    def put(self, chunk: bytes | FileSegment) -> None:
        if self._error is not None:
            raise self._error
        if isinstance(chunk, FileSegment):
            self._hand_over()
            self._queue.put(chunk)
            return
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= self._BLOCK or len(self._pending) >= self._MAX_CHUNKS:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._pending:
            self._queue.put(self._pending)
            self._pending = []
            self._pending_size = 0

    def _write_block(self, fd: int, block: list[bytes]) -> int:
        return _write_buffers(self._write, fd, block)

    @staticmethod
    def _copy(fd: int, segment: FileSegment) -> int:
        """Append ``segment`` to ``fd``, copied inside the system where it can be."""
        done = 0
        while done < segment.size:
            offset, count = segment.offset + done, segment.size - done
            try:
                sent = _sendfile(fd, segment.fd, offset, count)
            except OSError as err:
                if err.errno not in _NO_SENDFILE:
                    raise
                sent = os.write(fd, _read_at(segment.fd, min(count, _BUFFER * 16), offset))
            if sent == 0:
                raise OSError(f"encoded lines ended {count} bytes early")
            done += sent
        return done

    def _run(self) -> None:
        fd = self._handle.fileno()
        unsynced = 0
        try:
            while (block := self._queue.get()) is not None:
                if self._error is None:
                    try:
                        if isinstance(block, FileSegment):
                            size = self._copy(fd, block)
                        else:
                            size = self._write_block(fd, block)
                        unsynced += size
                        self._written += size
                        if self._written % self._HASH_EVERY < size:  # crossed a range's end
                            self._to_hash.set()
                        if unsynced >= self._SYNC_EVERY:
                            _datasync(fd)
                            unsynced = 0
                    except BaseException as err:  # surfaced to the caller in put() or __exit__
                        self._error = err
        finally:
            self._written_all = True
            self._to_hash.set()

    def _hash_written(self, digest: Digest) -> None:
        """Hash the file's bytes as the writer writes them, a range at a time (hasher thread)."""
        fd = self._handle.fileno()
        hashed = 0
        while True:
            self._to_hash.wait()
            self._to_hash.clear()
            finished = self._written_all  # read first: once set, ``_written`` is final
            written = self._written
            if written > hashed and self._error is None:
                try:
                    _hash_range(digest, fd, hashed, written)
                except BaseException as err:
                    self._error = err
                hashed = written
            if finished:
                return

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._hand_over()
        self._queue.put(None)
        self._thread.join()
        if self._hasher is not None:
            self._hasher.join()
        if self._error is not None and exc[0] is None:
            raise self._error


def _hash_range(digest: Digest, fd: int, start: int, end: int) -> None:
    """Feed bytes ``start:end`` of the file open as ``fd`` to ``digest``, mapped if possible."""
    base = start - start % mmap.ALLOCATIONGRANULARITY
    try:
        mapped = mmap.mmap(fd, end - base, access=mmap.ACCESS_READ, offset=base)
    except (OSError, ValueError):  # a descriptor that cannot be mapped: read it instead
        mapped = None
    if mapped is None:
        while start < end:
            data = _read_at(fd, min(end - start, _BUFFER * 16), start)
            if not data:
                raise OSError(f"the file ended at byte {start} while it was being hashed")
            digest.update(data)
            start += len(data)
        return
    with mapped, memoryview(mapped) as view, view[start - base :] as written:
        digest.update(written)  # one call over the range: hashlib holds no GIL meanwhile


_datasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
# sendfile refuses files it cannot copy between (macOS wants a socket): read and write instead
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK, errno.EOPNOTSUPP, errno.ENOTSUP}


def _sendfile(out_fd: int, in_fd: int, offset: int, count: int) -> int:
    if not hasattr(os, "sendfile"):  # Windows
        raise OSError(errno.ENOSYS, "no sendfile")
    return os.sendfile(out_fd, in_fd, offset, count)


def _read_at(fd: int, size: int, offset: int) -> bytes:
    """Read up to ``size`` bytes of ``fd`` at ``offset`` (``os.pread`` where there is one)."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # Windows: the descriptor is this module's alone
    return os.read(fd, size)


def _replace(staging: Path, target: Path) -> None:
    """Move ``staging`` onto ``target``; free the replaced file's blocks on another thread.

    Replacing a large file frees its blocks inside the rename, a tenth of a second for a
    400,000-line file. Holding the old file open moves that work to the final close, which a
    background thread does (POSIX only: elsewhere an open file cannot be replaced).
    """
    old = None
    if os.name == "posix":
        with contextlib.suppress(OSError):
            old = os.open(target, os.O_RDONLY | os.O_NONBLOCK)  # never wait on a FIFO
    try:
        os.replace(staging, target)
    finally:
        if old is not None:
            threading.Thread(target=os.close, args=(old,), daemon=True).start()


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
