"""Score price guesses exactly as the course's Tester does, plus MSE, R² and error by band.

Per item: error = |guess − truth|; SLE = (ln(truth + 1) − ln(guess + 1))². A guess below zero
counts as 0 in the SLE only (the course would fail on the logarithm); its error is as given.

Colour (the course's ``color_for``): green when error < $40 or error/truth < 20%; orange when
error < $80 or error/truth < 40%; red otherwise. Hit rate is the percentage of green.

A guess beyond any sane price (not finite, or more than ``MAX_GUESS`` = $1,000,000 either way)
counts as unparsed, a guess of $0, like an answer with no number: one absurd answer never
turns the metrics into inf.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ftkit.dataset.sampling import PRICE_BANDS, band_of

__all__ = [
    "BAND_LABELS",
    "COLORS",
    "MAX_GUESS",
    "BandMetrics",
    "Color",
    "Metrics",
    "Scored",
    "color_for",
    "compute_metrics",
    "is_sane_guess",
    "parse_guess",
    "score_item",
    "title_for",
]

Color = Literal["green", "orange", "red"]
COLORS: tuple[Color, ...] = ("green", "orange", "red")
BAND_LABELS: tuple[str, ...] = (band_of(0), *(band_of(high) for high in PRICE_BANDS))

MAX_GUESS = 1_000_000.0  # dollars; a larger answer is no price estimate
# The course's pattern, plus an exponent written onto the number: "1e309" is not a guess of $1.
_NUMBER = re.compile(r"(?:[-+]?\d*\.\d+|\d+)(?:[eE][-+]?\d+)?")


def is_sane_guess(value: float) -> bool:
    """Return True when ``value`` is a finite price within ``MAX_GUESS`` dollars of zero."""
    return math.isfinite(value) and abs(value) <= MAX_GUESS


def parse_guess(answer: str) -> float | None:
    """Return the course's reading of ``answer``: strip "$" and ",", take the first number.

    A number written with an exponent ("1.5e3") is read whole, where the course reads 1.5.
    None when there is no number (the course then scores the guess as 0) or the number is
    not a sane price (``is_sane_guess``).
    """
    match = _NUMBER.search(answer.replace("$", "").replace(",", ""))
    if match is None:
        return None
    value = float(match.group())
    return value if is_sane_guess(value) else None


def color_for(error: float, truth: float) -> Color:
    """Return the course's colour for an absolute ``error`` against the true price."""
    ratio = error / truth if truth > 0 else math.inf
    if error < 40 or ratio < 0.2:
        return "green"
    if error < 80 or ratio < 0.4:
        return "orange"
    return "red"


@dataclass(frozen=True)
class Scored:
    """One scored item: the truth, the guess, its error, SLE and colour, and the raw answer."""

    title: str
    truth: float
    guess: float
    error: float
    sle: float
    color: Color
    parsed: bool = True
    answer: str | None = None


def score_item(
    title: str, truth: float, guess: float | None, *, answer: str | None = None
) -> Scored:
    """Score one guess; None (no number) or an absurd one is a guess of $0, counted unparsed."""
    if guess is not None and not is_sane_guess(float(guess)):
        guess = None
    value = 0.0 if guess is None else float(guess)
    error = abs(value - truth)
    sle = (math.log(truth + 1) - math.log(max(value, 0.0) + 1)) ** 2
    return Scored(
        title=title,
        truth=truth,
        guess=value,
        error=error,
        sle=sle,
        color=color_for(error, truth),
        parsed=guess is not None,
        answer=answer,
    )


@dataclass(frozen=True)
class BandMetrics:
    """Metrics for the items whose true price falls in one price band."""

    band: str
    count: int
    average_error: float
    rmsle: float
    hit_rate_pct: float


@dataclass(frozen=True)
class Metrics:
    """The Tester's three numbers, plus MSE, R², colour counts, unparsed answers and bands."""

    size: int
    average_error: float
    rmsle: float
    hit_rate_pct: float
    mse: float
    r2: float | None
    unparsed: int
    colors: dict[str, int]
    by_band: list[BandMetrics]


def _square(value: float) -> float:
    """Return ``value`` squared; infinite, never an OverflowError, for a guess like 10**200."""
    return value * value


def _core(rows: Sequence[Scored]) -> tuple[float, float, float]:
    size = len(rows)
    average = sum(r.error for r in rows) / size
    rmsle = math.sqrt(sum(r.sle for r in rows) / size)
    hits = sum(1 for r in rows if r.color == "green") / size * 100
    return average, rmsle, hits


def _r2(rows: Sequence[Scored]) -> float | None:
    mean = sum(r.truth for r in rows) / len(rows)
    total = sum(_square(r.truth - mean) for r in rows)
    if total == 0:
        return None
    return 1 - sum(_square(r.truth - r.guess) for r in rows) / total


def compute_metrics(rows: Sequence[Scored]) -> Metrics:
    """Return the metrics of scored rows; all zero (R² None) when there are none."""
    if not rows:
        return Metrics(0, 0.0, 0.0, 0.0, 0.0, None, 0, dict.fromkeys(COLORS, 0), [])
    average, rmsle, hits = _core(rows)
    bands: dict[str, list[Scored]] = {}
    for row in rows:
        bands.setdefault(band_of(row.truth), []).append(row)
    by_band = [
        BandMetrics(label, len(members), *_core(members))
        for label in BAND_LABELS
        if (members := bands.get(label))
    ]
    return Metrics(
        size=len(rows),
        average_error=average,
        rmsle=rmsle,
        hit_rate_pct=hits,
        mse=sum(_square(r.error) for r in rows) / len(rows),
        r2=_r2(rows),
        unparsed=sum(1 for r in rows if not r.parsed),
        colors={color: sum(1 for r in rows if r.color == color) for color in COLORS},
        by_band=by_band,
    )


def title_for(name: str, metrics: Metrics) -> str:
    """Return the course chart's title: "NAME Error=$… RMSLE=… Hits=…%"."""
    return (
        f"{name} Error=${metrics.average_error:,.2f} RMSLE={metrics.rmsle:,.2f} "
        f"Hits={metrics.hit_rate_pct:.1f}%"
    ).strip()
