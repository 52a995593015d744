"""The Uploads API, for files over 512 MB (up to 8 GB): create, parts in parallel, complete.

Each part is streamed from disk through a ``FileWindow`` (a read-only view of a byte range that
reads with ``os.pread``, so parallel parts share one descriptor and nothing is held in memory
but the transport's 64 KB chunks). A failed part is sent again; when a part still fails, the
upload is cancelled, never left pending. Completion passes the ordered part ids and the md5.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import IO, Any, cast

import openai
from openai.types import FileObject

from ftkit.api import (
    Sleep,
    api_error,
    calling,
    create_once,
    is_transient,
    reply_error,
    require,
    retry_delay,
)
from ftkit.errors import UploadError
from ftkit.training.lost_uploads import find_earlier_upload

__all__ = [
    "DEFAULT_PARALLEL",
    "MAX_PART_BYTES",
    "MIME_TYPE",
    "FileWindow",
    "Progress",
    "ProgressCounter",
    "upload_in_parts",
]

MAX_PART_BYTES = 64 * 1024 * 1024
DEFAULT_PARALLEL = 4
MIME_TYPE = "text/jsonl"

Progress = Callable[[int, int], None]


class ProgressCounter:
    """Thread-safe running total of bytes sent, reported as (sent, total).

    With ``live=True`` each ``add`` reports at once (single-stream uploads, on the caller's
    thread); otherwise the caller's thread calls ``flush`` so that the callback never runs on a
    worker thread (a Streamlit progress bar can only be updated from the script's thread).
    """

    def __init__(self, total: int, report: Progress | None, *, live: bool = True) -> None:
        self.total = total
        self.sent = 0
        self._shown = -1
        self._report = report
        self._live = live
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self.sent = min(self.sent + count, self.total)
        if self._live:
            self.flush()

    def flush(self) -> None:
        """Report the total so far if it changed."""
        sent = self.sent
        if self._report is not None and sent != self._shown:
            self._shown = sent
            self._report(sent, self.total)


class FileWindow(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes at ``start`` in an open descriptor.

    Only bytes read for the first time count towards progress, so a retried part does not
    count twice. ``fileno`` is deliberately unsupported: the transport must measure the window
    with seek/tell, not the whole file with fstat.
    """

    def __init__(self, fd: int, start: int, length: int, counter: ProgressCounter | None) -> None:
        super().__init__()
        self._fd, self._start, self._length = fd, start, length
        self._pos = 0
        self._high = 0
        self._counter = counter

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise io.UnsupportedOperation("a FileWindow has no descriptor of its own")

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, min(base + offset, self._length))
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        left = self._length - self._pos
        count = left if size is None or size < 0 else min(size, left)
        if count <= 0:
            return b""
        data = os.pread(self._fd, count, self._start + self._pos)
        self._pos += len(data)
        if self._pos > self._high:
            if self._counter is not None:
                self._counter.add(self._pos - self._high)
            self._high = self._pos
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _send_part(
    client: openai.OpenAI,
    upload_id: str,
    window: FileWindow,
    name: str,
    *,
    attempts: int,
    sleep: Sleep,
    cancelled: threading.Event,
) -> str:
    """Send one part, retrying transient failures; return the part id."""
    for attempt in range(1, attempts + 1):
        if cancelled.is_set():
            raise UploadError(f"{name}: upload stopped")
        try:
            data = (name, cast(IO[bytes], window), MIME_TYPE)
            part = client.uploads.parts.create(upload_id, data=data)
            return require(part.id, str, "id")
        except ValueError as err:
            raise reply_error(err, f"{name}: sending part") from None
        except openai.OpenAIError as err:
            if not is_transient(err) or attempt == attempts:
                raise api_error(err, f"{name}: sending part") from None
            sleep(retry_delay(err, attempt))
            window.seek(0)
    raise AssertionError("unreachable")  # pragma: no cover


def _cancel(client: openai.OpenAI, upload_id: str) -> None:
    """Cancel a pending upload; a failure to cancel is left to expire (it holds no file)."""
    with contextlib.suppress(openai.OpenAIError):
        client.uploads.cancel(upload_id)


def _send_parts(
    client: openai.OpenAI,
    upload_id: str,
    fd: int,
    size: int,
    filename: str,
    counter: ProgressCounter,
    *,
    part_size: int,
    parallel: int,
    attempts: int,
    sleep: Sleep,
) -> list[str]:
    """Send every part, ``parallel`` at a time; return the part ids in file order.

    On the first part that fails for good, stop starting new parts and raise ``UploadError``.
    """
    cancelled = threading.Event()
    spans = [(start, min(part_size, size - start)) for start in range(0, size, part_size)]
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = []
        for n, (start, length) in enumerate(spans, 1):
            window = FileWindow(fd, start, length, counter)
            name = f"{filename} part {n}"
            future = pool.submit(
                _send_part,
                client,
                upload_id,
                window,
                name,
                attempts=attempts,
                sleep=sleep,
                cancelled=cancelled,
            )
            futures.append(future)
        while True:
            done, pending = wait(futures, timeout=0.2, return_when=FIRST_EXCEPTION)
            counter.flush()
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None or not pending:
                break
        if failed is not None:
            cancelled.set()
            for future in futures:
                future.cancel()
    if failed is not None:
        raise UploadError(f"{failed.exception()}; the upload was cancelled")
    return [future.result() for future in futures]


def upload_in_parts(
    client: openai.OpenAI,
    path: str | os.PathLike[str],
    *,
    md5: str | Callable[[], str],
    purpose: str = "fine-tune",
    part_size: int = MAX_PART_BYTES,
    parallel: int = DEFAULT_PARALLEL,
    part_attempts: int = 4,
    on_progress: Progress | None = None,
    sleep: Sleep = time.sleep,
    skip: Collection[str] = (),
) -> FileObject:
    """Upload ``path`` through the Uploads API; return the completed file object.

    ``md5`` is the file's md5 hex digest, or a callable returning it (still hashing while the
    parts are sent: it is called only when the upload completes). When the completion's answer
    is lost, ``find_earlier_upload`` looks for the file (``skip``: ids known to be other files).

    Raises ``UploadError`` (after cancelling the upload) when a part cannot be sent, and
    ``ApiError`` when the upload cannot be created or completed.
    """
    if not 0 < part_size <= MAX_PART_BYTES:
        raise UploadError(f"part size must be from 1 byte to 64 MB, got {part_size}")
    size = os.path.getsize(path)
    filename = os.path.basename(path)
    started = int(time.time())
    with calling(f"{filename}: starting the upload"):
        upload = client.uploads.create(
            bytes=size,
            filename=filename,
            mime_type=MIME_TYPE,
            purpose=purpose,  # type: ignore[arg-type]
        )
        require(upload.id, str, "id")
    counter = ProgressCounter(size, on_progress, live=False)
    fd = os.open(path, os.O_RDONLY)
    try:
        part_ids = _send_parts(
            client,
            upload.id,
            fd,
            size,
            filename,
            counter,
            part_size=part_size,
            parallel=parallel,
            attempts=part_attempts,
            sleep=sleep,
        )
    except BaseException:
        _cancel(client, upload.id)
        raise
    finally:
        os.close(fd)
    digest = md5() if callable(md5) else md5  # a callable may still be hashing: wait here
    finish = client.with_options(max_retries=0).uploads
    try:
        completed = create_once(
            lambda: finish.complete(upload.id, part_ids=part_ids, md5=digest),
            lambda: find_earlier_upload(
                client,
                filename=filename,
                size=size,
                purpose=purpose,
                started=started,
                md5=lambda: digest,
                skip=skip,
            ),
            action=f"{filename}: completing the upload",
            sleep=sleep,
        )
    except BaseException:
        _cancel(client, upload.id)
        raise
    file = completed.file if hasattr(completed, "file") else completed
    if not isinstance(file, FileObject):
        raise UploadError(f"{filename}: the endpoint completed the upload but returned no file")
    return file
