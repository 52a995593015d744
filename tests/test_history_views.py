"""History read at a glance: model labels, formatted metrics, no meaningless panels."""

from __future__ import annotations

from typing import Any

import pytest

from ftkit.history.runs import Run
from ftkit.history.views import (
    chart_metrics,
    compare_pair,
    format_metric,
    headline,
    metric_charts,
    metrics_frame,
    run_label,
)


def _run(run_id: int, kind: str, settings: dict[str, Any], outputs: dict[str, Any]) -> Run:
    return Run(
        id=run_id,
        kind=kind,
        created_at="2026-12-06T02:18:00",
        user="ana@example.com",
        status="succeeded",
        settings=settings,
        outputs=outputs,
    )


def _evaluation(run_id: int, model: str, error: float, r2: float) -> Run:
    metrics = {
        "average_error": error,
        "rmsle": 0.9616,
        "hit_rate_pct": 46.8,
        "mse": 23792.3544,
        "r2": r2,
        "unparsed": 0,
        "scored": 250,
    }
    outputs = {"metrics": metrics, "requested": 250, "failed": 0, "stopped": None}
    return _run(run_id, "evaluate", {"model": model}, outputs)


def test_a_run_is_named_by_its_model_else_its_kind() -> None:
    assert (
        run_label(_evaluation(4, "ft:gpt-4o-mini:acme::1", 80.0, 0.1))
        == "#4 ft:gpt-4o-mini:acme::1"
    )
    assert run_label(_run(3, "prepare", {"seed": 42}, {})) == "#3 prepare"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("average_error", 120.7735, "$120.77"),
        ("hit_rate_pct", 12.4, "12.4%"),
        ("rmsle", 1.2386, "1.24"),
        ("mse", 25338.0891, "25,338.09"),
        ("r2", -0.001, "0.00"),
        ("r2", 0.0, "0.00"),
        ("requested", 250.0, "250"),
        ("train_count", 1500.0, "1,500"),
        ("failed", None, "—"),
    ],
)
def test_metrics_read_in_dollars_percent_and_two_decimals(
    name: str, value: float | None, shown: str
) -> None:
    assert format_metric(name, value) == shown


def test_the_metrics_table_is_formatted_and_headed_by_model() -> None:
    left, right = (
        _evaluation(4, "baseline:mean", 120.7735, -0.001),
        _evaluation(5, "m2", 96.95, 0.06),
    )
    table = metrics_frame(left, right)
    assert list(table.columns) == ["metric", "#4 baseline:mean", "#5 m2"]
    values = dict(zip(table["metric"], table["#4 baseline:mean"], strict=True))
    assert values["average_error"] == "$120.77" and values["r2"] == "0.00"


def test_counts_and_all_zero_metrics_get_no_chart() -> None:
    left, right = _evaluation(4, "a", 120.0, 0.0), _evaluation(5, "b", 96.0, 0.0)
    assert chart_metrics(left, right) == ["average_error", "rmsle", "hit_rate_pct", "mse"]
    prepared = _run(2, "prepare", {}, {"train_count": 500, "validation_count": 50})
    assert chart_metrics(prepared, prepared) == []
    assert metric_charts(prepared, prepared) == []


def test_the_charts_give_the_runs_two_distinct_colours_and_one_legend() -> None:
    left, right = _evaluation(4, "a", 120.0, 0.1), _evaluation(5, "b", 96.0, 0.2)
    colors = [chart.to_dict()["encoding"]["color"] for chart in metric_charts(left, right)]
    assert colors[0]["legend"]["orient"] == "bottom"
    assert all(color["legend"] is None for color in colors[1:])
    for color in colors:
        assert color["scale"]["domain"] == ["#4 a", "#5 b"]
        assert len(set(color["scale"]["range"])) == 2
    titles = [chart.to_dict()["title"] for chart in metric_charts(left, right)]
    assert titles == ["Average error", "RMSLE", "Hits (%)", "MSE", "R²"]


def test_the_comparison_starts_with_the_newest_run_and_the_last_of_its_kind() -> None:
    newest_first = [
        _evaluation(5, "b", 96.0, 0.1),
        _run(4, "prepare", {}, {}),
        _evaluation(3, "a", 120.0, 0.1),
    ]
    assert compare_pair(newest_first) == (2, 0)
    assert compare_pair([_run(2, "prepare", {}, {}), _evaluation(1, "a", 1.0, 0.1)]) == (1, 0)


def test_a_runs_headline_lists_its_quality_metrics_formatted() -> None:
    line = headline(_evaluation(4, "a", 96.9544, 0.0601))
    assert line == "Average error $96.95 · RMSLE 0.96 · Hits 46.8% · MSE 23,792.35 · R² 0.06"
    assert headline(_run(3, "prepare", {}, {"train_count": 500})) == ""


def test_a_finished_fine_tune_is_named_by_the_model_it_trained() -> None:
    trained = "ft:gpt-4o-mini-2024-07-18:acme:pricer:7"
    done = _run(5, "finetune", {"model": "gpt-4o-mini-2024-07-18"}, {"model": trained})
    running = _run(6, "finetune", {"model": "gpt-4o-mini-2024-07-18"}, {})
    assert run_label(done) == f"#5 {trained}"
    assert run_label(running) == "#6 gpt-4o-mini-2024-07-18"  # nothing trained yet: the base
    assert run_label(_run(7, "prepare", {}, {})) == "#7 prepare"
