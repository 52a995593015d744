"""Remembered uploads: content key (md5, size) → file id, per endpoint, in ``.ftkit/uploads.json``.

Only completed, processed uploads are recorded, so a failed or interrupted upload leaves no trace.
Keys and other secrets are never written here: an entry holds the endpoint URL without any
``user:password@``, the content hash, the file id and what the file object said. The ``.ftkit``
folder is created readable by its owner only (0o700) and the store written 0o600.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import TypedDict, cast

import orjson

from ftkit.errors import OutputError, strip_userinfo

__all__ = [
    "DEFAULT_STORE",
    "PRIVATE_FILE",
    "PRIVATE_FOLDER",
    "StoredUpload",
    "forget",
    "hash_file",
    "make_private_file",
    "make_private_folder",
    "might_be_remembered",
    "recall",
    "remember",
    "remembered_ids",
]

DEFAULT_STORE = Path(".ftkit") / "uploads.json"
_READ = 8 << 20
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


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


def make_private_folder(folder: Path) -> None:
    """Create ``folder`` (and parents) owner-only; tighten an existing ``.ftkit`` folder too.

    Raises ``OutputError`` when it cannot be created.
    """
    try:
        folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{folder}: cannot create the folder ({err.strerror or err})") from None
    if folder.name == ".ftkit":
        with contextlib.suppress(OSError):  # a folder someone else owns stays as it is
            if folder.stat().st_mode & 0o777 != PRIVATE_FOLDER:
                os.chmod(folder, PRIVATE_FOLDER)


def make_private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only (0o600) if missing, else make it owner-only."""
    try:
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE))
    except OSError as err:
        raise OutputError(f"{path}: cannot create the file ({err.strerror or err})") from None
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o777 != PRIVATE_FILE:
            os.chmod(path, PRIVATE_FILE)


def _key(endpoint: str, purpose: str, content_key: str) -> str:
    return f"{strip_userinfo(endpoint)}|{purpose}|{content_key}"


def _clean(entry: StoredUpload) -> StoredUpload:
    """Return ``entry`` with its endpoint free of any user and password."""
    return {**entry, "endpoint": strip_userinfo(str(entry.get("endpoint", "")))}


def _load(store: Path) -> dict[str, StoredUpload]:
    """Return the store's entries; a missing or unreadable store is empty."""
    try:
        data = orjson.loads(store.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    entries: dict[str, StoredUpload] = {}
    for value in data.values():
        names = ("endpoint", "purpose", "content_key")
        if isinstance(value, dict) and all(isinstance(value.get(n), str) for n in names):
            entry = _clean(cast(StoredUpload, value))
            entries[_key(entry["endpoint"], entry["purpose"], entry["content_key"])] = entry
    return entries


def _save(store: Path, entries: dict[str, StoredUpload]) -> None:
    """Replace the store atomically with an owner-only file; the old one survives a failure."""
    make_private_folder(store.parent)
    data = orjson.dumps(entries, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{store.name}.", suffix=".tmp", dir=store.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, PRIVATE_FILE)
        os.replace(tmp_name, store)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise OutputError(f"{store}: cannot write ({err.strerror or err})") from None


def recall(
    endpoint: str, purpose: str, content_key: str, *, store: Path = DEFAULT_STORE
) -> StoredUpload | None:
    """Return the remembered upload of this content to this endpoint, if any."""
    return _load(store).get(_key(endpoint, purpose, content_key))


def remembered_ids(endpoint: str, purpose: str, *, store: Path = DEFAULT_STORE) -> dict[str, str]:
    """Return file id → content key of the uploads remembered for this endpoint and purpose."""
    wanted = strip_userinfo(endpoint)
    return {
        str(entry.get("file_id")): str(entry.get("content_key"))
        for entry in _load(store).values()
        if entry.get("endpoint") == wanted and entry.get("purpose") == purpose
    }


def might_be_remembered(
    endpoint: str, purpose: str, size: int, *, store: Path = DEFAULT_STORE
) -> bool:
    """Return True when an upload of this size to this endpoint is remembered.

    Content of another size cannot match, so only then is the file worth hashing before the
    upload starts; otherwise the hashes are computed while it is being sent.
    """
    return any(
        entry.get("endpoint") == strip_userinfo(endpoint)
        and entry.get("purpose") == purpose
        and entry.get("bytes") == size
        for entry in _load(store).values()
    )


def remember(entry: StoredUpload, *, store: Path = DEFAULT_STORE) -> None:
    """Record a completed upload (atomically; the previous store stays intact on failure)."""
    entries = _load(store)
    entries[_key(entry["endpoint"], entry["purpose"], entry["content_key"])] = _clean(entry)
    _save(store, entries)


def forget(endpoint: str, purpose: str, content_key: str, *, store: Path = DEFAULT_STORE) -> None:
    """Drop a remembered upload (its file no longer exists on the endpoint)."""
    entries = _load(store)
    if entries.pop(_key(endpoint, purpose, content_key), None) is not None:
        _save(store, entries)
