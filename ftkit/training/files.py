"""Files: upload a fine-tuning JSONL file, wait for it to be processed, list and look up files.

``upload_file`` is the one entry point. In order it: refuses a file that fails the pre-flight
check (unless ``override``); reuses the file id remembered for the same content on the same
endpoint (unless ``fresh``, and only if the file still exists there); uploads files up to
512 MB (100 MB on Azure OpenAI) with ``files.create`` streamed from the open file, larger ones
through the Uploads API;
waits, bounded, for processing; and only then records the upload. When an upload's answer is
lost, ``find_earlier_upload`` (``ftkit.training.lost_uploads``) finds the file it created by
name, size, purpose and content, never by a tight time window. A reply that cannot be read is
one ``ApiError`` line naming the call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, TypedDict, cast

import openai
from openai.types import FileObject

from ftkit.api import Sleep, api_error, calling, create_once, reply_error, require, shown_text
from ftkit.errors import UploadError, WaitTimeoutError
from ftkit.sources.sniff import require_regular_file
from ftkit.training.large_files import (
    DEFAULT_PARALLEL,
    MAX_PART_BYTES,
    MIME_TYPE,
    FileWindow,
    Progress,
    ProgressCounter,
    upload_in_parts,
)
from ftkit.training.lost_uploads import find_earlier_upload
from ftkit.training.upload_cache import (
    DEFAULT_STORE,
    StoredUpload,
    forget,
    hash_file,
    might_be_remembered,
    recall,
    remember,
    remembered_ids,
)

__all__ = [
    "AZURE_FILES_CREATE_LIMIT",
    "FILES_CREATE_LIMIT",
    "MAX_UPLOAD_BYTES",
    "FileInfo",
    "FileStatus",
    "UploadResult",
    "file_info",
    "list_files",
    "retrieve_file",
    "upload_file",
    "wait_for_file",
]

FILES_CREATE_LIMIT = 512 * 1024 * 1024
# Azure OpenAI: one-request uploads over about 100 MB fail (late, at training); use Uploads.
AZURE_FILES_CREATE_LIMIT = 100 * 1024 * 1024
MAX_UPLOAD_BYTES = 8 * 1024 * 1024 * 1024
FileStatus = Literal["uploaded", "processed", "error"]
Clock = Callable[[], float]


class FileInfo(TypedDict):
    """A file object as the lecture shows it: id, bytes, filename, purpose, status."""

    id: str
    bytes: int
    filename: str
    purpose: str
    status: str
    created_at: int
    status_details: str | None


@dataclass(frozen=True)
class UploadResult:
    """An uploaded (or reused) file and how it got there."""

    file: FileInfo
    reused: bool
    path: str
    content_key: str


def file_info(obj: FileObject) -> FileInfo:
    """Return the plain-data view of an SDK file object; ``ValueError`` names a bad field."""
    details = obj.status_details
    return FileInfo(
        id=require(obj.id, str, "id"),
        bytes=require(obj.bytes, int, "bytes"),
        filename=require(obj.filename, str, "filename"),
        purpose=require(obj.purpose, str, "purpose"),
        status=require(obj.status, str, "status"),
        created_at=require(obj.created_at, int, "created_at"),
        status_details=None if details is None else require(details, str, "status_details"),
    )


def _refuse_if_failing(path: Path, model: str, override_hint: str) -> None:
    """Raise ``UploadError`` when the pre-flight check finds errors in ``path``."""
    from ftkit.preflight.scan import check_file

    report = check_file(path, model=model)
    if report.ok:
        return
    first = report.errors[0]
    where = f"line {first.line}: " if first.line else ""
    raise UploadError(
        f"{path}: not uploaded, the pre-flight check found {len(report.errors)} error(s) "
        f"(first: {where}{first.message}); fix the file or {override_hint}"
    )


def _still_there(client: openai.OpenAI, file_id: str) -> FileObject | None:
    """Return the remembered file if the endpoint still has it, else None."""
    try:
        found = client.files.retrieve(file_id)
    except openai.NotFoundError:
        return None
    except openai.OpenAIError as err:
        raise api_error(err, f"{file_id}: looking up the earlier upload") from None
    except ValueError as err:
        raise reply_error(err, f"{file_id}: looking up the earlier upload") from None
    return None if found.status == "error" else found


def _create_file(
    client: openai.OpenAI,
    path: Path,
    *,
    purpose: str,
    md5: Callable[[], str],
    skip: Collection[str],
    on_progress: Progress | None,
    sleep: Sleep,
) -> FileObject:
    """Upload with ``files.create``, streaming from the open file; never create it twice."""
    size = path.stat().st_size
    started = int(time.time())
    once = client.with_options(max_retries=0).files

    def create() -> FileObject:
        counter = ProgressCounter(size, on_progress)
        with open(path, "rb") as handle:
            window = FileWindow(handle.fileno(), 0, size, counter)
            data = (path.name, cast(IO[bytes], window), MIME_TYPE)
            return once.create(file=data, purpose=purpose)  # type: ignore[arg-type]

    def find() -> FileObject | None:
        return find_earlier_upload(
            client,
            filename=path.name,
            size=size,
            purpose=purpose,
            started=started,
            md5=md5,
            skip=skip,
        )

    return create_once(create, find, action=f"{path}: uploading", sleep=sleep)


def wait_for_file(
    client: openai.OpenAI,
    file_id: str,
    *,
    timeout: float = 600.0,
    interval: float = 2.0,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> FileObject:
    """Poll until the file is processed; raise ``UploadError`` on "error", ``WaitTimeoutError``."""
    deadline = clock() + timeout
    while True:
        with calling(f"{file_id}: checking processing"):
            obj = client.files.retrieve(file_id)
            info = file_info(obj)
        if info["status"] == "error":
            raise UploadError(
                f"{info['filename']}: the endpoint rejected the file "
                f"({shown_text(info['status_details'] or 'no details given')})"
            )
        if info["status"] != "uploaded":  # "processed", or a compatible endpoint's own word
            return obj
        if clock() + interval > deadline:
            raise WaitTimeoutError(
                f"{file_id}: still processing after {timeout:.0f} s; "
                "check again later with the file id"
            )
        sleep(interval)


def upload_file(
    client: openai.OpenAI,
    path: str | os.PathLike[str],
    *,
    endpoint: str,
    purpose: str = "fine-tune",
    model: str = "gpt-4o-mini-2024-07-18",
    fresh: bool = False,
    override: bool = False,
    override_hint: str = "upload it anyway with the override",
    wait: bool = True,
    wait_timeout: float = 600.0,
    part_size: int = MAX_PART_BYTES,
    parallel: int = DEFAULT_PARALLEL,
    uploads_threshold: int | None = None,
    on_progress: Progress | None = None,
    sleep: Sleep = time.sleep,
    store: Path = DEFAULT_STORE,
) -> UploadResult:
    """Upload ``path`` for fine-tuning (or reuse its earlier upload); return the file.

    ``endpoint`` names the provider for the reuse memory (``ProviderSettings.endpoint``);
    ``override_hint`` ends the refusal when the pre-flight check fails (how to override it).
    Raises ``UploadError`` (check failed, too large, rejected), ``ApiError`` and
    ``WaitTimeoutError``. Nothing is recorded unless the upload completed. Files over
    ``uploads_threshold`` (default: 512 MB, 100 MB on Azure OpenAI) go through the Uploads API.
    """
    if uploads_threshold is None:
        azure = isinstance(client, openai.AzureOpenAI)
        uploads_threshold = AZURE_FILES_CREATE_LIMIT if azure else FILES_CREATE_LIMIT
    source = require_regular_file(path, error=UploadError)
    size = source.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(f"{source}: {size / 2**30:.1f} GB is over the 8 GB upload limit")
    if size == 0:
        raise UploadError(f"{source}: the file is empty")
    if not override:
        _refuse_if_failing(source, model, override_hint)
    skip = remembered_ids(endpoint, purpose, store=store)  # other uploads, never the lost one
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing: Future[tuple[str, str]]
        if fresh or not might_be_remembered(endpoint, purpose, size, store=store):
            # nothing to reuse: hash on the second core while the bytes are being sent
            hashing = pool.submit(hash_file, source)
        else:
            content_key, md5 = hash_file(source)
            earlier = recall(endpoint, purpose, content_key, store=store)
            if earlier is not None:
                found = _still_there(client, earlier["file_id"])
                if found is not None:
                    if on_progress is not None:
                        on_progress(size, size)
                    with calling(f"{earlier['file_id']}: looking up the earlier upload"):
                        info = file_info(found)
                    return UploadResult(info, True, str(source), content_key)
                forget(endpoint, purpose, content_key, store=store)
            hashing = Future()
            hashing.set_result((content_key, md5))
        if size > uploads_threshold:
            obj = upload_in_parts(
                client,
                source,
                md5=lambda: hashing.result()[1],
                purpose=purpose,
                part_size=part_size,
                parallel=parallel,
                on_progress=on_progress,
                sleep=sleep,
                skip=skip,
            )
        else:
            obj = _create_file(
                client,
                source,
                purpose=purpose,
                md5=lambda: hashing.result()[1],
                skip=skip,
                on_progress=on_progress,
                sleep=sleep,
            )
        content_key = hashing.result()[0]
    with calling(f"{source}: uploading"):
        info = file_info(obj)
    if wait:
        with calling(f"{source}: uploading"):
            info = file_info(wait_for_file(client, info["id"], timeout=wait_timeout, sleep=sleep))
    entry = StoredUpload(
        endpoint=endpoint,
        purpose=purpose,
        content_key=content_key,
        file_id=info["id"],
        filename=info["filename"],
        bytes=info["bytes"],
    )
    remember(entry, store=store)
    return UploadResult(info, False, str(source), content_key)


def retrieve_file(client: openai.OpenAI, file_id: str) -> FileInfo:
    """Return one file object."""
    with calling(f"{file_id}: looking up the file"):
        return file_info(client.files.retrieve(file_id))


def list_files(client: openai.OpenAI, *, limit: int = 50) -> list[FileInfo]:
    """Return up to ``limit`` fine-tuning files, newest first."""
    with calling("listing files"):
        page = client.files.list(purpose="fine-tune", limit=min(limit, 10_000), order="desc")
        return [file_info(item) for item in page.data[:limit]]
