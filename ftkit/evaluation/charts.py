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
    "band_chart",
    "chart_to_png",
    "comparison_chart",
    "course_chart",
    "running_error_chart",
    "running_error_frame",
]

WIDTH, HEIGHT = 640, 420
Z_95 = 1.96
_COLOR_SCALE = alt.Scale(domain=list(COLORS), range=list(COLORS))


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


def course_chart(rows: Sequence[Scored], metrics: Metrics, *, name: str = "") -> alt.LayerChart:
    """Return the course's chart: truth against estimate, coloured, with the y = x line."""
    frame = _frame(rows)
    top = max([*frame["truth"], *frame["guess"], 1.0])
    line = (
        alt.Chart(pd.DataFrame({"truth": [0.0, top], "guess": [0.0, top]}))
        .mark_line(color="deepskyblue", opacity=0.6, strokeWidth=2)
        .encode(x="truth:Q", y="guess:Q")
    )
    points = (
        alt.Chart(frame)
        .mark_circle(size=18, opacity=0.8)
        .encode(
            x=alt.X("truth:Q", title="Ground Truth", scale=alt.Scale(domain=[0, top])),
            y=alt.Y("guess:Q", title="Model Estimate", scale=alt.Scale(domain=[0, top])),
            color=alt.Color("color:N", scale=_COLOR_SCALE, legend=None),
            tooltip=["title:N", alt.Tooltip("truth:Q", format="$,.2f"), "guess:Q", "error:Q"],
        )
    )
    chart: alt.LayerChart = (line + points).properties(
        title=title_for(name, metrics), width=WIDTH, height=HEIGHT
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
        y=alt.Y("low:Q", title="Average error ($)"), y2="high:Q"
    )
    line = base.mark_line(color="steelblue").encode(
        y="mean:Q", tooltip=["item:Q", alt.Tooltip("mean:Q", format="$,.2f")]
    )
    chart: alt.LayerChart = (band + line).properties(
        title="Running average error (95% confidence band)", width=WIDTH, height=240
    )
    return chart


def band_chart(metrics: Metrics) -> alt.Chart:
    """Return average error by price band, labelled with each band's item count."""
    frame = pd.DataFrame(
        [
            {"band": b.band, "average_error": b.average_error, "hits": b.hit_rate_pct, "n": b.count}
            for b in metrics.by_band
        ],
        columns=["band", "average_error", "hits", "n"],
    )
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar(color="steelblue")
        .encode(
            x=alt.X(
                "band:N",
                sort=list(BAND_LABELS),
                title="True price band",
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("average_error:Q", title="Average error ($)"),
            tooltip=["band:N", "n:Q", alt.Tooltip("average_error:Q", format="$,.2f"), "hits:Q"],
        )
        .properties(title="Error by price band", width=WIDTH, height=240)
    )
    return chart


def comparison_chart(runs: Sequence[Run]) -> alt.VConcatChart:
    """Return runs side by side: error, RMSLE and hit rate bars, then error by price band."""
    table = pd.DataFrame(compare_runs(runs))
    labels = list(table["run"])
    metrics = alt.hconcat(
        *(
            alt.Chart(table)
            .mark_bar()
            .encode(
                x=alt.X("run:N", sort=labels, title=None),
                y=alt.Y(f"{field}:Q", title=title),
                color=alt.Color("run:N", sort=labels, legend=None),
                tooltip=["run:N", alt.Tooltip(f"{field}:Q", format=",.2f")],
            )
            .properties(width=180, height=220, title=title)
            for field, title in (
                ("average_error", "Average error ($)"),
                ("rmsle", "RMSLE"),
                ("hit_rate_pct", "Hits (%)"),
            )
        )
    )
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
            y=alt.Y("average_error:Q", title="Average error ($)"),
            color=alt.Color("run:N", sort=labels, title="Run"),
            tooltip=["run:N", "band:N", alt.Tooltip("average_error:Q", format="$,.2f")],
        )
        .properties(title="Error by price band", width=WIDTH, height=240)
    )
    return alt.vconcat(metrics, by_band)


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
