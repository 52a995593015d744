"""Plain tables and a chart for showing runs; pure (no Streamlit), so the pages stay short."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from ftkit.history.runs import Run, diff_settings

__all__ = ["diff_frame", "metrics_chart", "metrics_frame", "numeric_metrics", "runs_frame"]


def _label(run: Run) -> str:
    return f"#{run.id} {run.kind}"


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
                "model": _cell(run.settings.get("model")),
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
    """Return metric / left / right rows for two runs' numeric outputs."""
    a, b = numeric_metrics(left), numeric_metrics(right)
    names = sorted(a.keys() | b.keys())
    return pd.DataFrame(
        {
            "metric": names,
            _label(left): [a.get(n) for n in names],
            _label(right): [b.get(n) for n in names],
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


def metrics_chart(left: Run, right: Run) -> alt.FacetChart | None:
    """Return bars of each shared numeric metric for the two runs, one panel per metric."""
    a, b = numeric_metrics(left), numeric_metrics(right)
    shared = sorted(a.keys() & b.keys())
    if not shared:
        return None
    data = pd.DataFrame(
        [{"metric": n, "run": _label(left), "value": a[n]} for n in shared]
        + [{"metric": n, "run": _label(right), "value": b[n]} for n in shared]
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("run:N", title=None, sort=[_label(left), _label(right)]),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("run:N", legend=None),
            tooltip=["metric:N", "run:N", alt.Tooltip("value:Q", format=",.4~f")],
        )
        .properties(width=110, height=160)
    )
    chart: alt.FacetChart = bars.facet(
        facet=alt.Facet("metric:N", title=None), columns=4
    ).resolve_scale(y="independent")
    return chart
