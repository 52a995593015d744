"""Plain tables and a chart for showing runs; pure (no Streamlit), so the pages stay short."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import pandas as pd

from ftkit.history.runs import Run, diff_settings

__all__ = [
    "chart_metrics",
    "compare_pair",
    "diff_frame",
    "format_metric",
    "headline",
    "metric_charts",
    "metric_title",
    "metrics_frame",
    "numeric_metrics",
    "run_label",
    "runs_frame",
]

# Quality metrics worth a chart; counts (requested, failed, scored, rows...) stay in the table.
_QUALITY = re.compile(r"error|rmsle|hit|mse|r2|loss|accuracy", re.IGNORECASE)
_DOLLARS = re.compile(r"average_error|dollars|cost", re.IGNORECASE)
_PERCENT = re.compile(r"_pct$", re.IGNORECASE)
_COLORS = ["#4e79a7", "#f28e2b"]  # run A, run B: two distinct hues
# Fit the width only: the legend under a chart adds height instead of squashing the bars.
_FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def shown_model(run: Run) -> str | None:
    """Return the model a run is known by: a finished fine-tune's trained model, else its model."""
    trained = run.outputs.get("model") if run.kind == "finetune" else None
    model = trained if isinstance(trained, str) and trained else run.settings.get("model")
    return model if isinstance(model, str) and model else None


def run_label(run: Run) -> str:
    """Return a run's short name: "#4 ft:gpt-4o-mini:acme::1", or "#3 prepare" without a model."""
    model = shown_model(run)
    return f"#{run.id} {model}" if model else f"#{run.id} {run.kind}"


def _label(run: Run) -> str:
    return run_label(run)


def format_metric(name: str, value: float | None) -> str:
    """Return a metric for reading: $ for dollars, % for percentages, two decimals, counts whole."""
    if value is None:
        return "—"
    if _DOLLARS.search(name):
        return f"${value:,.2f}"
    if _PERCENT.search(name):
        return f"{value:.1f}%"
    if value.is_integer() and not _QUALITY.search(name):
        return f"{int(value):,}"
    text = f"{value:,.2f}"
    return text[1:] if text == "-0.00" else text


def compare_pair(runs: list[Run]) -> tuple[int, int]:
    """Return the indexes of the runs to compare first: the newest and the last of its kind.

    ``runs`` come newest first. Without a second run of the newest's kind, the second newest.
    """
    newest = runs[0]
    same = [i for i, run in enumerate(runs[1:], start=1) if run.kind == newest.kind]
    return (same[0] if same else 1), 0


def _cell(value: Any) -> str:
    return "—" if value is None else str(value)


def runs_frame(runs: list[Run]) -> pd.DataFrame:
    """Return one row per run: id, kind, when, user, status, and the main settings."""
    rows = []
    for run in runs:
        sizes = run.settings.get("sizes")
        sizes = sizes if isinstance(sizes, dict) else {}
        rows.append(
            {
                "id": run.id,
                "kind": run.kind,
                "when (UTC)": run.created_at[:19].replace("T", " "),
                "user": run.user or "—",
                "status": run.status,
                "model": _cell(shown_model(run)),
                "train/validation": f"{sizes.get('train', '?')}/{sizes.get('validation', '?')}"
                if sizes
                else "—",
                "seed": _cell(run.settings.get("seed")),
                "re-run of": _cell(run.parent_run_id),
            }
        )
    return pd.DataFrame(rows)


def numeric_metrics(run: Run) -> dict[str, float]:
    """Return a run's numeric outputs by dotted name (``metrics`` first level flattened)."""
    found: dict[str, float] = {}

    def walk(value: Mapping[str, Any], prefix: str) -> None:
        for key, inner in value.items():
            name = f"{prefix}{key}"
            if isinstance(inner, Mapping):
                walk(inner, f"{name}.")
            elif isinstance(inner, int | float) and not isinstance(inner, bool):
                found[name.removeprefix("metrics.")] = float(inner)

    walk(run.outputs, "")
    return found


def metrics_frame(left: Run, right: Run) -> pd.DataFrame:
    """Return metric / left / right rows for two runs' numeric outputs, formatted for reading."""
    a, b = numeric_metrics(left), numeric_metrics(right)
    names = sorted(a.keys() | b.keys())
    return pd.DataFrame(
        {
            "metric": names,
            _label(left): [format_metric(n, a.get(n)) for n in names],
            _label(right): [format_metric(n, b.get(n)) for n in names],
        }
    )


def diff_frame(left: Run, right: Run) -> pd.DataFrame:
    """Return setting / left / right rows for the settings that differ, as text."""
    changes = diff_settings(left, right)
    return pd.DataFrame(
        {
            "setting": [c.key for c in changes],
            _label(left): [_cell(c.left) for c in changes],
            _label(right): [_cell(c.right) for c in changes],
        }
    )


def chart_metrics(left: Run, right: Run) -> list[str]:
    """Return the metrics worth a chart: quality metrics both runs have, not both zero."""
    a, b = numeric_metrics(left), numeric_metrics(right)
    shared = sorted(a.keys() & b.keys())
    return _in_order(n for n in shared if _QUALITY.search(n) and (a[n] != 0 or b[n] != 0))


_TITLES = {
    "average_error": "Average error",
    "rmsle": "RMSLE",
    "hit_rate_pct": "Hits (%)",
    "mse": "MSE",
    "r2": "R²",
}


def _in_order(names: Iterable[str]) -> list[str]:
    """Return metric names in the Tester's order (error, RMSLE, hits, MSE, R²), then by name."""
    order = list(_TITLES)
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def metric_title(name: str) -> str:
    """Return a metric's name for a chart title: "Average error", "R²", "train loss"."""
    return _TITLES.get(name, name.replace("_", " ").replace(".", " · "))


def _metric_chart(name: str, labels: list[str], values: list[float], legend: bool) -> alt.Chart:
    dollars = bool(_DOLLARS.search(name))
    data = pd.DataFrame({"run": labels, "value": values})
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("run:N", title=None, sort=labels, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("value:Q", title=None, axis=alt.Axis(format="$,.0f" if dollars else ",~r")),
            color=alt.Color(
                "run:N",
                sort=labels,
                scale=alt.Scale(domain=labels, range=_COLORS),
                title=None,
                legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400)
                if legend
                else None,
            ),
            tooltip=[
                "run:N",
                alt.Tooltip("value:Q", title=name, format="$,.2f" if dollars else ",.4~f"),
            ],
        )
        .properties(title=metric_title(name), height=180, autosize=_FIT_WIDTH)
    )
    return chart


def headline(run: Run) -> str:
    """Return a run's quality metrics in one line: "Average error $96.95 · RMSLE 0.96 · …"."""
    found = numeric_metrics(run)
    names = _in_order(n for n in found if _QUALITY.search(n))
    return " · ".join(
        f"{metric_title(name).removesuffix(' (%)')} {format_metric(name, found[name])}"
        for name in names
    )


def metric_charts(left: Run, right: Run) -> list[alt.Chart]:
    """Return one small bar chart per metric worth a chart (``chart_metrics``), A then B.

    The runs keep their colours in every chart; the first chart carries the legend.
    """
    a, b = numeric_metrics(left), numeric_metrics(right)
    labels = [_label(left), _label(right)]
    if labels[0] == labels[1]:  # the same run twice
        labels[1] += " "
    return [
        _metric_chart(name, labels, [a[name], b[name]], legend=index == 0)
        for index, name in enumerate(chart_metrics(left, right))
    ]
