"""Remembered uploads: content key (md5, size) → file id, per endpoint, in ``.ftkit/uploads.json``.

Only completed, processed uploads are recorded, so a failed or interrupted upload leaves no trace.
Keys and other secrets are never written here: an entry holds the endpoint URL, the content
hash, the file id and what the file object said.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TypedDict

import orjson

from ftkit.dataset.jsonl import atomic_writer

__all__ = [
    "DEFAULT_STORE",
    "StoredUpload",
    "forget",
    "hash_file",
    "might_be_remembered",
    "recall",
    "remember",
]

DEFAULT_STORE = Path(".ftkit") / "uploads.json"
_READ = 8 << 20


class StoredUpload(TypedDict):
    """One remembered upload."""

    endpoint: str
    purpose: str
    content_key: str
    file_id: str
    filename: str
    bytes: int


def hash_file(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Return the file's (content key, md5 hex digest), reading it once in 8 MB blocks.

    The content key is ``md5:<hex>:<size>``: the Uploads API needs the md5 anyway, and one
    digest instead of two keeps hashing off the upload's critical path (two cores are busy
    enough sending). It only matches this user's own earlier uploads, never anyone else's.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(_READ):
            md5.update(block)
            size += len(block)
    digest = md5.hexdigest()
    return f"md5:{digest}:{size}", digest


def _key(endpoint: str, purpose: str, content_key: str) -> str:
    return f"{endpoint}|{purpose}|{content_key}"


def _load(store: Path) -> dict[str, StoredUpload]:
    """Return the store's entries; a missing or unreadable store is empty."""
    try:
        data = orjson.loads(store.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(store: Path, entries: dict[str, StoredUpload]) -> None:
    with atomic_writer(store) as handle:
        handle.write(orjson.dumps(entries, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def recall(
    endpoint: str, purpose: str, content_key: str, *, store: Path = DEFAULT_STORE
) -> StoredUpload | None:
    """Return the remembered upload of this content to this endpoint, if any."""
    return _load(store).get(_key(endpoint, purpose, content_key))


def might_be_remembered(
    endpoint: str, purpose: str, size: int, *, store: Path = DEFAULT_STORE
) -> bool:
    """Return True when an upload of this size to this endpoint is remembered.

    Content of another size cannot match, so only then is the file worth hashing before the
    upload starts; otherwise the hashes are computed while it is being sent.
    """
    return any(
        entry.get("endpoint") == endpoint
        and entry.get("purpose") == purpose
        and entry.get("bytes") == size
        for entry in _load(store).values()
    )


def remember(entry: StoredUpload, *, store: Path = DEFAULT_STORE) -> None:
    """Record a completed upload (atomically; the previous store stays intact on failure)."""
    entries = _load(store)
    entries[_key(entry["endpoint"], entry["purpose"], entry["content_key"])] = entry
    _save(store, entries)


def forget(endpoint: str, purpose: str, content_key: str, *, store: Path = DEFAULT_STORE) -> None:
    """Drop a remembered upload (its file no longer exists on the endpoint)."""
    entries = _load(store)
    if entries.pop(_key(endpoint, purpose, content_key), None) is not None:
        _save(store, entries)
