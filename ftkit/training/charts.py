"""The training chart: each metric of a job by step."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from ftkit.training.events import MetricRow

__all__ = ["metrics_chart"]


def metrics_chart(rows: Sequence[MetricRow]) -> alt.Chart:
    """Return a line per metric (losses, accuracies) against the step."""
    frame = pd.DataFrame([dict(r) for r in rows]).melt("step", var_name="metric").dropna()
    chart: alt.Chart = (
        alt.Chart(frame).mark_line(point=True).encode(x="step:Q", y="value:Q", color="metric:N")
    )
    return chart
