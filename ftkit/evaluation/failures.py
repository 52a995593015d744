"""Why items failed in an evaluation: a predictor wrapper that keeps each failure's reason."""

from __future__ import annotations

import threading
from collections import Counter

from ftkit.errors import RetriesExhaustedError
from ftkit.evaluation.predictors import Guess, Predictor
from ftkit.items import Item

__all__ = ["FailureLog", "describe_failures"]


class FailureLog:
    """Ask ``predictor``; count the reason of every item that still failed after its retries."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.reasons: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, item: Item) -> Guess:
        try:
            return self.predictor(item)
        except RetriesExhaustedError as err:
            text = str(err)
            prefix = f"{item.title[:60]}: "
            reason = text[len(prefix) :] if text.startswith(prefix) else text
            with self._lock:
                self.reasons[reason] += 1
            raise


def describe_failures(reasons: Counter[str], *, shown: int = 3) -> str:
    """Return the most common reasons with their counts, most common first, in one line."""
    if not reasons:
        return ""
    parts = [
        f"{reason} ({count} item{'s' if count != 1 else ''})"
        for reason, count in reasons.most_common(shown)
    ]
    rest = len(reasons) - shown
    more = f"; and {rest} other reason{'s' if rest != 1 else ''}" if rest > 0 else ""
    return "; ".join(parts) + more
