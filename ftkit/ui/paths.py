"""What the dashboard may show of the server: in hosted mode, file names only, never paths or URLs.

Recorded runs, errors and captions may hold absolute paths (output folders, temp folders, the
prices.json file) and the history database URL. A hosted user sees the last part of each path
and ``(hidden)`` for a database URL; local mode shows everything as it is.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from ftkit.ui.state import is_hosted

__all__ = ["HIDDEN", "hide_paths", "names_only", "shown_path", "shown_text", "shown_value"]

HIDDEN = "(hidden)"
_TRAILING = ".,;:)]}'\""
_URL = re.compile(r"\b(?!https?://)[A-Za-z][A-Za-z0-9+.-]*://\S+")
_PATH = re.compile(r"(?<![\w:/.~-])(?:/|~/|[A-Za-z]:\\)[^\s'\"`<>|]*")


def _name(path: str) -> str:
    """Return the last part of a POSIX or Windows path ("" for a root)."""
    if "\\" in path:
        return PureWindowsPath(path).name
    return PurePosixPath(path).name


def _split_tail(text: str) -> tuple[str, str]:
    """Split trailing punctuation (a colon after a path, a closing bracket) off ``text``."""
    body = text.rstrip(_TRAILING)
    return body, text[len(body) :]


def hide_paths(text: str) -> str:
    """Return ``text`` with database URLs hidden and every absolute path cut to its file name."""

    def url(match: re.Match[str]) -> str:
        _, tail = _split_tail(match.group(0))
        return HIDDEN + tail

    def path(match: re.Match[str]) -> str:
        body, tail = _split_tail(match.group(0))
        return (_name(body) or HIDDEN) + tail

    return _PATH.sub(path, _URL.sub(url, text))


def _is_path(text: str) -> bool:
    return os.path.isabs(text) or text.startswith("~/") or PureWindowsPath(text).is_absolute()


def names_only(value: Any) -> Any:
    """Return a copy of ``value`` (a run's settings or outputs) with paths cut to file names."""
    if isinstance(value, dict):
        return {key: names_only(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [names_only(inner) for inner in value]
    if isinstance(value, str):
        return (_name(value) or HIDDEN) if _is_path(value) else hide_paths(value)
    return value


def shown_path(path: str | os.PathLike[str]) -> str:
    """Return the path to show: the file name in hosted mode, the whole path otherwise."""
    return _name(os.fspath(path)) if is_hosted() else os.fspath(path)


def shown_text(text: str) -> str:
    """Return a message to show: server paths and database URLs hidden in hosted mode."""
    return hide_paths(text) if is_hosted() else text


def shown_value(value: Any) -> Any:
    """Return recorded settings or outputs to show: file names only in hosted mode."""
    return names_only(value) if is_hosted() else value
