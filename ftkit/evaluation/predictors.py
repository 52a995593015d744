"""Predictors: anything that turns an item into a price guess, and the course's baselines.

The baselines need no API, so an evaluation works offline:

    baseline:random      a random whole-dollar price from $1 to $999, seeded (the course's
                         ``random.randrange(1, 1000)`` after ``random.seed(42)``); items in order
    baseline:mean        the training set's mean price for every item
    baseline:regression  ridge regression of ln(price + 1) on word counts of the item's text
                         (the training set's most frequent words) and its length
"""

from __future__ import annotations

import math
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ftkit.errors import EvaluationError
from ftkit.items import Item

__all__ = [
    "BASELINES",
    "BatchPredictor",
    "Guess",
    "Predictor",
    "TextRegression",
    "batch_size_of",
    "fit_text_regression",
    "is_baseline",
    "make_baseline",
    "mean_predictor",
    "needs_training",
    "random_predictor",
]

BASELINES = ("baseline:random", "baseline:mean", "baseline:regression")
DEFAULT_SEED = 42
VOCABULARY_SIZE = 1000
RIDGE = 10.0
_MAX_LOG_PRICE = 700.0  # math.expm1 overflows past ~709.78; scoring counts such a guess unparsed
_WORD = re.compile(r"[a-z][a-z0-9]+|\d+")
_STOP_WORDS = frozenset(
    {
        "the",
        "and",
        "for",
        "with",
        "this",
        "that",
        "are",
        "from",
        "your",
        "you",
        "can",
        "our",
        "not",
        "has",
        "have",
        "its",
        "all",
        "any",
        "was",
        "one",
        "more",
        "will",
        "into",
        "use",
        "also",
        "been",
        "but",
        "per",
        "other",
        "than",
        "they",
        "their",
        "these",
        "which",
        "how",
    }
)


@dataclass(frozen=True)
class Guess:
    """A predictor's guess: the number (None when the answer held none) and the raw answer."""

    value: float | None
    answer: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0


Predictor = Callable[[Item], Guess]


@runtime_checkable
class BatchPredictor(Protocol):
    """A predictor that is faster asked several items at once (a local model on this machine).

    ``evaluate`` asks it ``batch_size`` items at a time, in order, on the calling thread;
    ``predict_batch`` returns one guess per item, in the items' order. Called with one item it
    is an ordinary ``Predictor``.
    """

    batch_size: int

    def __call__(self, item: Item) -> Guess: ...

    def predict_batch(self, items: Sequence[Item]) -> list[Guess]: ...


def batch_size_of(predictor: Predictor) -> int:
    """Return how many items ``predictor`` takes at once: its ``batch_size``, else 1."""
    if isinstance(predictor, BatchPredictor):
        return max(int(predictor.batch_size), 1)
    return 1


def is_baseline(model: str) -> bool:
    """Return True when ``model`` names one of the offline baselines."""
    return model in BASELINES


def needs_training(model: str) -> bool:
    """Return True for a baseline fitted on training items (all but ``baseline:random``)."""
    return is_baseline(model) and model != "baseline:random"


def random_predictor(seed: int = DEFAULT_SEED) -> Predictor:
    """Return the course's random pricer: ``randrange(1, 1000)`` from its own seeded generator."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def predict(item: Item) -> Guess:
        with lock:
            return Guess(float(rng.randrange(1, 1000)))

    return predict


def mean_predictor(train: Sequence[Item]) -> Predictor:
    """Return a predictor that always guesses the mean training price."""
    if not train:
        raise EvaluationError("baseline:mean needs training items; the training set is empty")
    mean = sum(item.price for item in train) / len(train)
    return lambda item: Guess(mean)


def _words(item: Item) -> list[str]:
    text = f"{item.title}\n{item.text or item.details}".lower()
    return [w for w in _WORD.findall(text) if w not in _STOP_WORDS]


@dataclass(frozen=True)
class TextRegression:
    """A fitted linear model on word counts and text length; predicts ln(price + 1)."""

    vocabulary: dict[str, int]
    weights: np.ndarray
    bias: float

    def features(self, item: Item) -> np.ndarray:
        """Return the feature row of ``item``: word counts, then ln(characters + 1)."""
        row = np.zeros(len(self.vocabulary) + 1)
        for word, count in Counter(_words(item)).items():
            index = self.vocabulary.get(word)
            if index is not None:
                row[index] = count
        row[-1] = math.log1p(len(item.text or item.details or item.title))
        return row

    def predict(self, item: Item) -> float:
        """Return the predicted price of ``item`` in dollars (never negative)."""
        log_price = float(self.features(item) @ self.weights) + self.bias
        return max(0.0, math.expm1(min(log_price, _MAX_LOG_PRICE)))

    def __call__(self, item: Item) -> Guess:
        return Guess(self.predict(item))


def fit_text_regression(
    train: Sequence[Item], *, vocabulary_size: int = VOCABULARY_SIZE, ridge: float = RIDGE
) -> TextRegression:
    """Fit ridge regression of ln(price + 1) on the text features of ``train``."""
    if len(train) < 2:
        raise EvaluationError("baseline:regression needs at least 2 training items")
    counts: Counter[str] = Counter()
    for item in train:
        counts.update(set(_words(item)))
    vocabulary = {word: i for i, (word, _) in enumerate(counts.most_common(vocabulary_size))}
    empty = TextRegression(vocabulary, np.zeros(len(vocabulary) + 1), 0.0)
    x = np.stack([empty.features(item) for item in train])
    y = np.log1p(np.array([item.price for item in train]))
    x_mean, y_mean = x.mean(axis=0), float(y.mean())
    xc = x - x_mean
    gram = xc.T @ xc + ridge * np.eye(x.shape[1])
    weights = np.linalg.solve(gram, xc.T @ (y - y_mean))
    return TextRegression(vocabulary, weights, y_mean - float(x_mean @ weights))


def make_baseline(name: str, train: Sequence[Item], *, seed: int = DEFAULT_SEED) -> Predictor:
    """Return the baseline called ``name``; raise ``EvaluationError`` for an unknown name."""
    if name == "baseline:random":
        return random_predictor(seed)
    if name == "baseline:mean":
        return mean_predictor(train)
    if name == "baseline:regression":
        return fit_text_regression(train)
    raise EvaluationError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")
