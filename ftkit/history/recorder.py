"""How a caller records a run: the one seam between orchestration and the history store.

A ``Recorder`` calls ``record(store, user)`` and returns what it returns, or None when the run
was not recorded. The dashboard's recorder (``ftkit.ui.history.record_from_page``) shows one
caption on a history error; the CLI's prints one note; ``store_recorder`` lets errors raise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from ftkit.history.store import HistoryStore

__all__ = ["Recorder", "store_recorder"]

T = TypeVar("T")


class Recorder(Protocol):
    """Call ``record(store, user)``; return its result, or None when nothing was recorded."""

    def __call__(self, record: Callable[[HistoryStore | None, str], T], /) -> T | None: ...


def store_recorder(store: HistoryStore | None, user: str) -> Recorder:
    """Return a recorder that writes to ``store`` (None: the default) as ``user``; errors raise."""

    def recorder(record: Callable[[HistoryStore | None, str], T], /) -> T | None:
        return record(store, user)

    return recorder
