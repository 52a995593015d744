"""Remembered uploads: content hash → file id, per endpoint, in ``.ftkit/uploads.json``.

Only completed, processed uploads are recorded, so a failed or interrupted upload leaves no trace.
Keys and other secrets are never written here: an entry holds the endpoint URL, the content
hash, the file id and what the file object said.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypedDict

import orjson

from ftkit.jsonl import atomic_writer

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
    sha256: str
    file_id: str
    filename: str
    bytes: int


def hash_file(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Return the file's (sha256, md5) hex digests, reading it once in 8 MB blocks.

    The two digests run side by side (hashlib releases the GIL), so hashing costs about as
    long as sha256 alone.
    """
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle, ThreadPoolExecutor(max_workers=1) as pool:
        while block := handle.read(_READ):
            pending = pool.submit(md5.update, block)
            sha.update(block)
            pending.result()
    return sha.hexdigest(), md5.hexdigest()


def _key(endpoint: str, purpose: str, sha256: str) -> str:
    return f"{endpoint}|{purpose}|{sha256}"


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
    endpoint: str, purpose: str, sha256: str, *, store: Path = DEFAULT_STORE
) -> StoredUpload | None:
    """Return the remembered upload of this content to this endpoint, if any."""
    return _load(store).get(_key(endpoint, purpose, sha256))


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
    entries[_key(entry["endpoint"], entry["purpose"], entry["sha256"])] = entry
    _save(store, entries)


def forget(endpoint: str, purpose: str, sha256: str, *, store: Path = DEFAULT_STORE) -> None:
    """Drop a remembered upload (its file no longer exists on the endpoint)."""
    entries = _load(store)
    if entries.pop(_key(endpoint, purpose, sha256), None) is not None:
        _save(store, entries)
