"""Evaluation charts (Altair): each function returns a chart; none draws it.

``chart_to_png`` renders any of them to a PNG file with ``vl-convert-python``.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from ftkit.dataset.jsonl import atomic_writer
from ftkit.errors import OutputError
from ftkit.evaluation.run import Run
from ftkit.evaluation.saved import compare_runs
from ftkit.evaluation.scoring import BAND_LABELS, COLORS, Metrics, Scored, title_for

__all__ = [
    "FIT_WIDTH",
    "RUN_COLORS",
    "band_chart",
    "chart_to_png",
    "comparison_chart",
    "comparison_charts",
    "course_chart",
    "running_error_chart",
    "running_error_frame",
]

WIDTH, HEIGHT = 640, 420
SIDE = 400  # the truth-against-estimate chart is square: the y = x line at 45 degrees
Z_95 = 1.96
LOG_FLOOR = 1.0  # on log axes, prices under $1 (and $0 guesses) are drawn at $1
_COLOR_SCALE = alt.Scale(domain=list(COLORS), range=list(COLORS))
# Distinct hues for runs and bands, not shades of one blue (Tableau 10; they repeat after ten).
RUN_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
# Fit the width only: a legend under a chart then adds height instead of squashing the bars.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
_LEGEND = alt.Legend(orient="bottom", direction="vertical", labelLimit=400, symbolType="square")


def _frame(rows: Sequence[Scored]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": range(1, len(rows) + 1),
            "title": [r.title for r in rows],
            "truth": [r.truth for r in rows],
            "guess": [r.guess for r in rows],
            "error": [r.error for r in rows],
            "color": [r.color for r in rows],
        }
    )


def course_chart(
    rows: Sequence[Scored], metrics: Metrics, *, name: str = "", log: bool = False
) -> alt.LayerChart:
    """Return the course's chart: truth against estimate, coloured, with the y = x line.

    The chart is square. ``log`` puts both axes on a log scale, which spreads out the cheap
    items a few expensive ones squeeze into a corner; prices under $1 (a $0 guess) sit at $1.
    """
    frame = _frame(rows)
    low = LOG_FLOOR if log else 0.0
    frame["x"], frame["y"] = frame["truth"].clip(lower=low), frame["guess"].clip(lower=low)
    top = max([*frame["x"], *frame["y"], 1.0])
    if log:
        scale = alt.Scale(type="log", domain=[low, top], nice=False)
    else:
        scale = alt.Scale(type="linear", domain=[low, top], nice=False)
    line = (
        alt.Chart(pd.DataFrame({"x": [low, top], "y": [low, top]}))
        .mark_line(color="deepskyblue", opacity=0.6, strokeWidth=2, clip=True)
        .encode(x=alt.X("x:Q", scale=scale), y=alt.Y("y:Q", scale=scale))
    )
    dollars = alt.Axis(format="$,.0f")
    points = (
        alt.Chart(frame)
        .mark_circle(size=18, opacity=0.8)
        .encode(
            x=alt.X("x:Q", title="Ground Truth", scale=scale, axis=dollars),
            y=alt.Y("y:Q", title="Model Estimate", scale=scale, axis=dollars),
            color=alt.Color("color:N", scale=_COLOR_SCALE, legend=None),
            tooltip=[
                "title:N",
                alt.Tooltip("truth:Q", format="$,.2f"),
                alt.Tooltip("guess:Q", format="$,.2f"),
                alt.Tooltip("error:Q", format="$,.2f"),
            ],
        )
    )
    chart: alt.LayerChart = (line + points).properties(
        title=title_for(name, metrics), width=SIDE, height=SIDE
    )
    return chart


def running_error_frame(rows: Sequence[Scored]) -> pd.DataFrame:
    """Return item number, running average error and its 95% confidence band (mean ± 1.96·se)."""
    count = total = squares = 0.0
    records: list[dict[str, float]] = []
    for row in rows:
        count, total, squares = count + 1, total + row.error, squares + row.error**2
        mean = total / count
        variance = (squares - total**2 / count) / (count - 1) if count > 1 else 0.0
        half = Z_95 * math.sqrt(max(variance, 0.0) / count)
        records.append(
            {"item": count, "mean": mean, "low": max(mean - half, 0.0), "high": mean + half}
        )
    return pd.DataFrame(records, columns=["item", "mean", "low", "high"])


def running_error_chart(rows: Sequence[Scored]) -> alt.LayerChart:
    """Return the running average error over the items, with its 95% confidence band."""
    base = alt.Chart(running_error_frame(rows)).encode(x=alt.X("item:Q", title="Items scored"))
    band = base.mark_area(opacity=0.25, color="steelblue").encode(
        y=alt.Y("low:Q", title="Average error", axis=alt.Axis(format="$,.0f")), y2="high:Q"
    )
    line = base.mark_line(color="steelblue").encode(
        y="mean:Q", tooltip=["item:Q", alt.Tooltip("mean:Q", format="$,.2f")]
    )
    chart: alt.LayerChart = (band + line).properties(
        title="Running average error (95% confidence band)", width=WIDTH, height=240
    )
    return chart


def band_chart(metrics: Metrics) -> alt.Chart:
    """Return average error by price band, one colour per band, with each band's item count."""
    frame = pd.DataFrame(
        [
            {"band": b.band, "average_error": b.average_error, "hits": b.hit_rate_pct, "n": b.count}
            for b in metrics.by_band
        ],
        columns=["band", "average_error", "hits", "n"],
    )
    bands = list(BAND_LABELS)
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("band:N", sort=bands, title="True price band", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("average_error:Q", title="Average error", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "band:N",
                sort=bands,
                scale=alt.Scale(domain=bands, range=list(RUN_COLORS)),
                title="True price band",
                legend=alt.Legend(orient="bottom", columns=4, symbolType="square"),
            ),
            tooltip=[
                alt.Tooltip("band:N", title="band"),
                alt.Tooltip("n:Q", title="items"),
                alt.Tooltip("average_error:Q", title="average error", format="$,.2f"),
                alt.Tooltip("hits:Q", title="hits (%)", format=".1f"),
            ],
        )
        .properties(title="Error by price band", width=WIDTH, height=240, autosize=FIT_WIDTH)
    )
    return chart


def _run_color(labels: list[str], *, legend: bool) -> alt.Color:
    return alt.Color(
        "run:N",
        sort=labels,
        scale=alt.Scale(domain=labels, range=list(RUN_COLORS)),
        title="Run",
        legend=_LEGEND if legend else None,
    )


def comparison_charts(runs: Sequence[Run]) -> list[alt.Chart]:
    """Return the comparison, one chart per panel: error, RMSLE, hits, then error by price band.

    Each run keeps its colour in every panel; the last chart carries the legend. The page lays
    the panels out in columns, so they stack on a narrow screen.
    """
    *panels, by_band = _comparison_panels(runs)
    return [*panels, by_band.properties(autosize=FIT_WIDTH)]


def _comparison_panels(runs: Sequence[Run]) -> list[alt.Chart]:
    table = pd.DataFrame(compare_runs(runs))
    labels = list(table["run"])
    panels = [
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X("run:N", sort=labels, title=None, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y(f"{field}:Q", title=None, axis=alt.Axis(format=axis)),
            color=_run_color(labels, legend=False),
            tooltip=["run:N", alt.Tooltip(f"{field}:Q", title=title, format=tip)],
        )
        .properties(width=180, height=200, title=title)
        for field, title, axis, tip in (
            ("average_error", "Average error", "$,.0f", "$,.2f"),
            ("rmsle", "RMSLE", ".2f", ".2f"),
            ("hit_rate_pct", "Hits (%)", ".0f", ".1f"),
        )
    ]
    bands = pd.DataFrame(
        [
            {"run": label, "band": b.band, "average_error": b.average_error}
            for label, run in zip(labels, runs, strict=True)
            for b in run.metrics.by_band
        ],
        columns=["run", "band", "average_error"],
    )
    by_band = (
        alt.Chart(bands)
        .mark_bar()
        .encode(
            x=alt.X(
                "band:N",
                sort=list(BAND_LABELS),
                title="True price band",
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset=alt.XOffset("run:N", sort=labels),
            y=alt.Y("average_error:Q", title="Average error", axis=alt.Axis(format="$,.0f")),
            color=_run_color(labels, legend=True),
            tooltip=["run:N", "band:N", alt.Tooltip("average_error:Q", format="$,.2f")],
        )
        .properties(title="Error by price band", width=WIDTH, height=240)
    )
    return [*panels, by_band]


def comparison_chart(runs: Sequence[Run]) -> alt.VConcatChart:
    """Return the comparison panels as one chart (for a PNG): three metrics, then by band."""
    *panels, by_band = _comparison_panels(runs)
    return alt.vconcat(alt.hconcat(*panels), by_band)


def chart_to_png(chart: Any, path: str | os.PathLike[str], *, scale: float = 2.0) -> Path:
    """Render ``chart`` to a PNG at ``path`` (atomically); ``OutputError`` if it cannot."""
    target = Path(path)
    try:
        converter: Any = importlib.import_module("vl_convert")
    except ImportError:
        raise OutputError(
            f"{target}: cannot render a PNG without vl-convert-python "
            "(pip install vl-convert-python)"
        ) from None
    try:
        png = converter.vegalite_to_png(vl_spec=chart.to_json(), scale=scale)
    except Exception as err:  # the renderer raises plain ValueError/RuntimeError
        raise OutputError(f"{target}: cannot render the chart ({err})") from None
    with atomic_writer(target) as handle:
        handle.write(png)
    return target
