"""Altair charts for the dashboard; each function returns a chart and draws nothing.

Every chart takes pre-aggregated rows (histogram bins, band counts), so a 400,000-item dataset
becomes a few dozen marks rather than 400,000 points in the browser.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from ftkit.dataset.stats import BAND_ORDER, Bin

__all__ = ["band_split_chart", "category_chart", "price_histogram", "token_histogram"]

_TRAIN = "#2e7d32"
_VALIDATION = "#f9a825"
# Legends sit under the plot, so a narrow screen keeps the bars' width; labels are never cut.
_LEGEND = alt.Legend(orient="bottom", title=None, labelLimit=0)


def _bins_frame(bins: Sequence[Bin]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "start": [b.start for b in bins],
            "end": [b.end for b in bins],
            "count": [b.count for b in bins],
        }
    )


def price_histogram(bins: Sequence[Bin], *, log: bool = True) -> alt.Chart:
    """Return a bar chart of item counts per price bin (dollars, log scale by default).

    The price axis spans the bins, from the cheapest item's bin rather than from $1 or $0.
    """
    domain = [bins[0].start, bins[-1].end] if bins else alt.Undefined
    scale = alt.Scale(type="log" if log else "linear", domain=domain, nice=False)
    chart: alt.Chart = (
        alt.Chart(_bins_frame(bins), title="Prices")
        .mark_bar(color=_TRAIN)
        .encode(
            x=alt.X("start:Q", title="price ($)", scale=scale, axis=alt.Axis(format="$,.0f")),
            x2="end:Q",
            y=alt.Y("count:Q", title="items"),
            y2=alt.datum(0),  # with x and x2, bars need an explicit baseline to be vertical
            tooltip=[
                alt.Tooltip("start:Q", title="from", format="$,.2f"),
                alt.Tooltip("end:Q", title="to", format="$,.2f"),
                alt.Tooltip("count:Q", title="items", format=","),
            ],
        )
    )
    return chart


def token_histogram(bins: Sequence[Bin], *, limit: int | None = None) -> alt.LayerChart | alt.Chart:
    """Return a bar chart of examples per token-count bin, with a rule at ``limit`` if given.

    The token axis spans the bins (from the shortest example), not 0 to the longest.
    """
    scale = alt.Scale(domain=[bins[0].start, bins[-1].end], nice=False) if bins else alt.Scale()
    bars: alt.Chart = (
        alt.Chart(_bins_frame(bins), title="Tokens per example")
        .mark_bar(color=_TRAIN)
        .encode(
            x=alt.X("start:Q", title="tokens", scale=scale),
            x2="end:Q",
            y=alt.Y("count:Q", title="examples"),
            y2=alt.datum(0),
            tooltip=[
                alt.Tooltip("start:Q", title="from", format=",.0f"),
                alt.Tooltip("end:Q", title="to", format=",.0f"),
                alt.Tooltip("count:Q", title="examples", format=","),
            ],
        )
    )
    if limit is None or not bins or bins[-1].end < limit:
        return bars
    rule = (
        alt.Chart(pd.DataFrame({"limit": [limit]})).mark_rule(color="#c62828").encode(x="limit:Q")
    )
    layered: alt.LayerChart = bars + rule
    return layered


def band_split_chart(rows: Sequence[tuple[str, str, int, float]]) -> alt.Chart:
    """Return grouped bars: each split's share of items per price band (from ``band_counts``)."""
    frame = pd.DataFrame(rows, columns=["band", "split", "count", "share"])
    chart: alt.Chart = (
        alt.Chart(frame, title="Train and validation by price band")
        .mark_bar()
        .encode(
            x=alt.X("band:N", sort=list(BAND_ORDER), title="price band"),
            xOffset=alt.XOffset("split:N", sort=["train", "validation"]),
            y=alt.Y("share:Q", title="share of the split", axis=alt.Axis(format="%")),
            color=alt.Color(
                "split:N",
                sort=["train", "validation"],
                scale=alt.Scale(range=[_TRAIN, _VALIDATION]),
                legend=_LEGEND,
            ),
            tooltip=[
                "band:N",
                "split:N",
                alt.Tooltip("count:Q", format=","),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
    )
    return chart


def category_chart(categories: Sequence[tuple[str, int]], *, top: int = 15) -> alt.Chart:
    """Return horizontal bars of the ``top`` categories by item count."""
    frame = pd.DataFrame(list(categories[:top]), columns=["category", "items"])
    chart: alt.Chart = (
        alt.Chart(frame, title="Categories")
        .mark_bar(color=_TRAIN)
        .encode(
            x=alt.X("items:Q", title="items"),
            y=alt.Y("category:N", sort="-x", title=None, axis=alt.Axis(labelLimit=0)),
            tooltip=["category:N", alt.Tooltip("items:Q", format=",")],
        )
    )
    return chart
