"""A hosted session's workspace: the one folder whose files that session may write and upload.

In hosted mode nobody types a server path. Export writes into the workspace, a person's own
JSONL uploads are saved into its ``uploads`` folder, and the Upload page offers only what
``list_jsonl`` finds there. ``resolve_in`` is the last check before a file leaves the server:
it turns a chosen name back into a real path and refuses anything outside the workspace.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from ftkit.errors import OutputError, UploadError

__all__ = [
    "UPLOADS_FOLDER",
    "list_jsonl",
    "relative_name",
    "resolve_in",
    "safe_filename",
    "save_upload",
    "scrub_paths",
]

UPLOADS_FOLDER = "uploads"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 100


def resolve_in(folder: Path, name: str) -> Path:
    """Return the real path of the file ``name`` inside ``folder``.

    Raises ``UploadError`` (one line naming ``name``, never the folder) for an absolute path,
    a ``..`` part, a missing file, a folder, or a symlink that leads out of ``folder``.
    """
    shown = name.strip() or "(no file chosen)"
    parts = PurePosixPath(name.replace("\\", "/"))
    absolute = parts.is_absolute() or bool(PureWindowsPath(name).anchor)
    if not name.strip() or absolute or ".." in parts.parts:
        raise UploadError(f"{shown}: not a file in your workspace")
    root = folder.resolve()
    try:
        path = (root / parts).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # ValueError: a NUL byte in the name
        raise UploadError(f"{shown}: no such file in your workspace") from None
    if not path.is_relative_to(root) or not path.is_file():
        raise UploadError(f"{shown}: not a file in your workspace")
    return path


def list_jsonl(folder: Path) -> list[str]:
    """Return the ``.jsonl`` files in ``folder`` and its uploads folder, as names relative to it.

    Only files that ``resolve_in`` accepts are listed (a symlink leading out is left out).
    """
    if not folder.is_dir():
        return []
    found = [*folder.glob("*.jsonl"), *(folder / UPLOADS_FOLDER).glob("*.jsonl")]
    names = []
    for path in found:
        name = path.relative_to(folder).as_posix()
        try:
            resolve_in(folder, name)
        except UploadError:
            continue
        names.append(name)
    return sorted(names)


def relative_name(folder: Path, path: str | os.PathLike[str] | None) -> str | None:
    """Return ``path`` as a name inside ``folder``, or None when it is not inside it."""
    if not path:
        return None
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def safe_filename(name: str) -> str:
    """Return the last part of an uploaded file's name with only ``A-Za-z0-9._-`` kept."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = _UNSAFE.sub("-", base).lstrip(".-").rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    stem = stem[: _MAX_NAME - len(suffix) - 1] or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def save_upload(folder: Path, name: str, data: bytes, *, max_bytes: int) -> str:
    """Save an uploaded JSONL file as ``folder/uploads/<safe name>``; return its name in ``folder``.

    Raises ``OutputError`` for a name not ending in ``.jsonl``, an empty file, one over
    ``max_bytes``, or a failed write (which leaves no partial file behind).
    """
    filename = safe_filename(name)
    if not filename.lower().endswith(".jsonl"):
        raise OutputError(f"{name}: only .jsonl files can be uploaded here")
    if not data:
        raise OutputError(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise OutputError(
            f"{name}: {_size(len(data))} is over this server's upload limit of {_size(max_bytes)}"
        )
    target = folder / UPLOADS_FOLDER
    try:
        target.mkdir(parents=True, exist_ok=True)
        if not target.resolve().is_relative_to(folder.resolve()):
            raise OutputError(
                f"{name}: cannot be saved in your workspace (its uploads folder leads out of it)"
            )
        _write_atomically(target / filename, data)
    except OSError as err:
        raise OutputError(f"{name}: cannot be saved in your workspace ({err.strerror})") from None
    return f"{UPLOADS_FOLDER}/{filename}"


def _size(count: int) -> str:
    """Return a byte count as e.g. "3.2 MB" or "4.9 kB"."""
    return f"{count / 2**20:.1f} MB" if count >= 2**20 else f"{count / 1024:.1f} kB"


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def scrub_paths(text: str, folder: Path) -> str:
    """Return ``text`` with ``folder`` (as given and resolved) replaced by "your workspace".

    A file inside the folder keeps only its name relative to it.
    """
    forms = {str(folder.resolve()), os.path.abspath(folder), str(folder)}
    for shown in sorted(forms, key=len, reverse=True):
        text = text.replace(shown + os.sep, "").replace(shown, "your workspace")
    return text
