"""How an evaluation reads on screen: metrics as $, % and two decimals, tables ready to show."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from ftkit.evaluation.run import Run
from ftkit.evaluation.saved import compare_runs
from ftkit.evaluation.scoring import Metrics, Scored

__all__ = [
    "HIT_COLORS",
    "METRIC_LABELS",
    "color_lines",
    "comparison_table",
    "format_r2",
    "items_table",
    "metric_values",
]

# Cell colours of the items table's "hit" column: the course's green, orange and red, pale.
HIT_COLORS = {
    "green": "background-color: #d3f2d9; color: #14532d",
    "orange": "background-color: #fde7c7; color: #7c3d06",
    "red": "background-color: #fbd5d5; color: #7f1d1d",
}


METRIC_LABELS = ("Average error", "RMSLE", "Hits", "MSE", "R²", "Unparsed")


def format_r2(r2: float | None) -> str:
    """Return R² with two decimals ("0.00", never "-0.00"), or "n/a" when it is undefined."""
    if r2 is None:
        return "n/a"
    text = f"{r2:.2f}"
    return "0.00" if text == "-0.00" else text


def metric_values(m: Metrics) -> dict[str, str]:
    """Return the headline metrics as the page shows them: {label: formatted value}."""
    values = (
        f"${m.average_error:,.2f}",
        f"{m.rmsle:.2f}",
        f"{m.hit_rate_pct:.1f}%",
        f"{m.mse:,.0f}",
        format_r2(m.r2),
        f"{m.unparsed:,}",
    )
    return dict(zip(METRIC_LABELS, values, strict=True))


def comparison_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Return one row per run (labelled by its model), each metric formatted for reading."""
    rows = []
    for row, run in zip(compare_runs(runs), runs, strict=True):
        shown = metric_values(run.metrics)
        rows.append({"Run": row["run"], "Items": f"{row['size']:,}", **shown})
    return pd.DataFrame(rows, columns=["Run", "Items", *METRIC_LABELS])


_COLOR_MEANING = {
    "green": "off by under $40 or 20%",
    "orange": "off by under $80 or 40%",
    "red": "off by more",
}


def color_lines(m: Metrics) -> list[str]:
    """Return the scatter's key as markdown lines: each colour, what it means, how many items."""
    total = max(m.size, 1)
    return [
        f":{color}[●] **{color.capitalize()}**, {meaning}: {m.colors.get(color, 0):,} items "
        f"({100 * m.colors.get(color, 0) / total:.0f}%)"
        for color, meaning in _COLOR_MEANING.items()
    ]


def _hit_style(value: object) -> str:
    return HIT_COLORS.get(str(value), "")


def items_table(rows: Sequence[Scored]) -> Styler:
    """Return the scored items as a styled table: prices in dollars, hits coloured."""
    frame = pd.DataFrame(
        [
            {
                "Title": r.title,
                "Truth": r.truth,
                "Estimate": r.guess,
                "Error": r.error,
                "Hit": r.color,
                "Answer": r.answer if r.answer is not None else "",
            }
            for r in rows
        ],
        columns=["Title", "Truth", "Estimate", "Error", "Hit", "Answer"],
    )
    dollars = "${:,.2f}"
    return frame.style.format({"Truth": dollars, "Estimate": dollars, "Error": dollars}).map(
        _hit_style, subset=["Hit"]
    )
