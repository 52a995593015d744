"""Find the file an upload created when its response was lost, so it is never created twice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from typing import Literal

import httpx2
import openai
from openai.types import FileObject

__all__ = ["MAX_CLOCK_SKEW", "MAX_CONTENT_CHECKS", "find_earlier_upload"]

MAX_CLOCK_SKEW = 600
MAX_CONTENT_CHECKS = 3
MAX_LISTED = 1000
Match = Literal["same", "different", "unknown"]


def _content_match(client: openai.OpenAI, file_id: str, md5: str, size: int) -> Match:
    """Return whether the file's content has this md5; "unknown" when it cannot be downloaded.

    Reading stops after ``size`` bytes: a longer answer is "different", however long it runs.
    """
    digest = hashlib.md5(usedforsecurity=False)
    read = 0
    try:
        with client.files.with_streaming_response.content(file_id) as response:
            for block in response.iter_bytes():
                read += len(block)
                if read > size:
                    return "different"
                digest.update(block)
    except (openai.OpenAIError, httpx2.HTTPError):  # OpenAI refuses fine-tune files' content
        return "unknown"
    return "same" if read == size and digest.hexdigest() == md5 else "different"


def find_earlier_upload(
    client: openai.OpenAI,
    *,
    filename: str,
    size: int,
    purpose: str,
    started: int,
    md5: Callable[[], str],
    skip: Collection[str] = (),
) -> FileObject | None:
    """Return the file a lost upload of this content created, or None.

    A candidate has the same filename, size in bytes and purpose, is not in error, and is not
    one of ``skip`` (files ftkit already remembers, which are other uploads). Newest first, a
    candidate is taken when its content can be downloaded and its md5 equals ``md5()``,
    whenever it was created; or when its content cannot be downloaded (OpenAI refuses it for
    fine-tune files) and the server says it was created at most ``MAX_CLOCK_SKEW`` seconds
    before ``started`` (our clock when the upload began): a server clock running behind ours
    must not hide the file. A candidate whose content differs is never taken, nor an older
    one whose content is unknown. At most ``MAX_CONTENT_CHECKS`` contents are downloaded.
    """
    checks = 0
    for count, item in enumerate(client.files.list(purpose=purpose, limit=100, order="desc")):
        if count >= MAX_LISTED:
            break
        if item.filename != filename or item.bytes != size or item.purpose != purpose:
            continue
        if item.status == "error" or item.id in skip:
            continue
        if checks >= MAX_CONTENT_CHECKS:
            break
        checks += 1
        match = _content_match(client, item.id, md5(), size)
        recent = isinstance(item.created_at, int) and item.created_at >= started - MAX_CLOCK_SKEW
        if match == "same" or (match == "unknown" and recent):
            return item
    return None
