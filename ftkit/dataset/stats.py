"""Numbers the dashboard shows about a dataset and a split: summaries, histogram bins, bands."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ftkit.dataset.sampling import PRICE_BANDS, Split, band_of
from ftkit.items import Item

__all__ = [
    "BAND_ORDER",
    "Bin",
    "DatasetSummary",
    "band_counts",
    "histogram",
    "summarize_items",
]

BAND_ORDER: tuple[str, ...] = (
    *(band_of(high - 0.01) for high in PRICE_BANDS),
    band_of(PRICE_BANDS[-1]),
)


@dataclass(frozen=True)
class DatasetSummary:
    """Count, price range and categories of a list of items."""

    count: int
    price_min: float
    price_median: float
    price_max: float
    categories: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Bin:
    """One histogram bar: values in ``[start, end)`` (the last bin includes ``end``)."""

    start: float
    end: float
    count: int


def summarize_items(items: Sequence[Item]) -> DatasetSummary:
    """Return the count, price min/median/max and category counts (most common first)."""
    if not items:
        return DatasetSummary(0, 0.0, 0.0, 0.0, ())
    prices = sorted(item.price for item in items)
    middle = len(prices) // 2
    median = prices[middle] if len(prices) % 2 else (prices[middle - 1] + prices[middle]) / 2
    categories = Counter(item.category or "(none)" for item in items)
    return DatasetSummary(
        count=len(items),
        price_min=prices[0],
        price_median=median,
        price_max=prices[-1],
        categories=tuple(categories.most_common()),
    )


def histogram(values: Sequence[float], *, bins: int = 30, log: bool = False) -> list[Bin]:
    """Return ``bins`` equal-width bins over ``values`` (equal in log10 space when ``log``).

    Binning here keeps charts small: a chart of 400,000 prices carries 30 bars, not 400,000
    points. Non-positive values are left out of a log histogram.
    """
    data = [math.log10(v) for v in values if v > 0] if log else list(values)
    if not data:
        return []
    low, high = min(data), max(data)
    if high == low:
        edge = (10**low, 10**high) if log else (low, high)
        return [Bin(edge[0], edge[1], len(data))]
    width = (high - low) / bins
    counts = [0] * bins
    for value in data:
        counts[min(bins - 1, int((value - low) / width))] += 1
    edges = [low + width * i for i in range(bins + 1)]
    if log:
        edges = [10**e for e in edges]
    return [Bin(edges[i], edges[i + 1], counts[i]) for i in range(bins)]


def band_counts(split: Split) -> list[tuple[str, str, int, float]]:
    """Return (band, split name, count, share of that split) for every band, in band order."""
    rows: list[tuple[str, str, int, float]] = []
    for name, items in (("train", split.train), ("validation", split.validation)):
        counts = Counter(band_of(item.price) for item in items)
        total = len(items) or 1
        rows.extend((band, name, counts[band], counts[band] / total) for band in BAND_ORDER)
    return rows
