"""Why items failed in an evaluation: a predictor wrapper that keeps each failure's reason."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from ftkit.errors import RetriesExhaustedError
from ftkit.evaluation.predictors import BatchPredictor, Guess, Predictor, batch_size_of
from ftkit.items import Item

__all__ = ["FailureLog", "describe_failures"]


class FailureLog:
    """Ask ``predictor``; count the reason of every item that still failed after its retries.

    It takes batches as ``predictor`` does: ``batch_size`` is the wrapped predictor's (1 for a
    predictor that takes one item at a time).
    """

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.batch_size = batch_size_of(predictor)
        self.reasons: Counter[str] = Counter()
        self._lock = threading.Lock()

    def predict_batch(self, items: Sequence[Item]) -> list[Guess]:
        """Ask the wrapped predictor for ``items`` at once (one by one if it takes no batches)."""
        if not isinstance(self.predictor, BatchPredictor):
            return [self(item) for item in items]
        try:
            return self.predictor.predict_batch(items)
        except RetriesExhaustedError as err:
            with self._lock:
                self.reasons[str(err)] += len(items)
            raise

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
