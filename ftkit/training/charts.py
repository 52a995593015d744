"""The training charts: a job's losses by step, and its token accuracies by step."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from ftkit.training.events import MetricRow

__all__ = ["LABELS", "accuracy_chart", "loss_chart", "metric_frame"]

LABELS: dict[str, str] = {
    "train_loss": "training",
    "valid_loss": "validation (batch)",
    "full_valid_loss": "validation (full)",
    "train_mean_token_accuracy": "training",
    "valid_mean_token_accuracy": "validation (batch)",
    "full_valid_mean_token_accuracy": "validation (full)",
}
_LOSSES = ("train_loss", "valid_loss", "full_valid_loss")
_ACCURACIES = (
    "train_mean_token_accuracy",
    "valid_mean_token_accuracy",
    "full_valid_mean_token_accuracy",
)


def metric_frame(rows: Sequence[MetricRow], names: Sequence[str]) -> pd.DataFrame:
    """Return the ``names`` metrics as long rows (step, series, value), gaps left out."""
    records = [
        {"step": int(row["step"]), "series": LABELS[name], "value": float(row[name])}  # type: ignore[literal-required]
        for row in rows
        for name in names
        if name in row
    ]
    return pd.DataFrame(records, columns=["step", "series", "value"])


def _chart(frame: pd.DataFrame, title: str, y_title: str, y_format: str) -> alt.Chart:
    """Return one line per series against whole-number steps, the legend below, one per line."""
    chart: alt.Chart = (
        alt.Chart(frame, title=title, padding={"left": 5, "top": 5, "right": 16, "bottom": 5})
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "step:Q",
                title="Step",
                scale=alt.Scale(domainMin=0),
                axis=alt.Axis(format="d", tickMinStep=1),
            ),
            y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=y_format)),
            color=alt.Color(
                "series:N",
                title=None,
                legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0),
            ),
            tooltip=[
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("step:Q", title="Step", format="d"),
                alt.Tooltip("value:Q", title=y_title, format=".4f"),
            ],
        )
    )
    return chart


def loss_chart(rows: Sequence[MetricRow]) -> alt.Chart | None:
    """Return the losses by step, or None when no step reported one."""
    frame = metric_frame(rows, _LOSSES)
    return _chart(frame, "Loss", "Loss", ".2f") if len(frame) else None


def accuracy_chart(rows: Sequence[MetricRow]) -> alt.Chart | None:
    """Return the mean token accuracies by step, or None when no step reported one."""
    frame = metric_frame(rows, _ACCURACIES)
    return _chart(frame, "Token accuracy", "Accuracy", ".0%") if len(frame) else None
