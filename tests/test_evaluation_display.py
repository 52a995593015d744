"""How an evaluation reads: formatted metrics and tables, and chart specs checked as data."""

from __future__ import annotations

from typing import Any

import pytest

from ftkit.evaluation.charts import band_chart, comparison_chart, comparison_charts, course_chart
from ftkit.evaluation.display import (
    HIT_COLORS,
    comparison_table,
    format_r2,
    items_table,
    metric_values,
)
from ftkit.evaluation.run import Run
from ftkit.evaluation.scoring import BAND_LABELS, Scored, score_item


def _run(model: str, pairs: list[tuple[float, float]]) -> Run:
    rows = tuple(score_item(f"item {i}", truth, guess) for i, (truth, guess) in enumerate(pairs))
    return Run(model=model, source="sample", requested=len(rows), rows=rows, created="2026-12-06")


PRICES = [(5.0, 6.0), (20.0, 30.0), (40.0, 44.0), (80.0, 200.0), (150.0, 140.0), (400.0, 300.0)]


@pytest.mark.parametrize(
    ("r2", "shown"),
    [
        (None, "n/a"),
        (-0.0004, "0.00"),
        (-0.001, "0.00"),
        (0.0, "0.00"),
        (0.456, "0.46"),
        (-0.5, "-0.50"),
    ],
)
def test_r2_reads_with_two_decimals_and_never_as_minus_zero(r2: float | None, shown: str) -> None:
    assert format_r2(r2) == shown


def test_headline_metrics_read_in_dollars_percent_and_two_decimals() -> None:
    shown = metric_values(_run("m", PRICES).metrics)
    assert shown["Average error"].startswith("$") and shown["Average error"].count(".") == 1
    assert shown["Hits"].endswith("%")
    assert len(shown["RMSLE"].split(".")[1]) == 2
    assert shown["Unparsed"] == "0"


def test_the_comparison_table_names_each_run_by_model_and_formats_metrics() -> None:
    table = comparison_table(
        [_run("ft:gpt-4o-mini:acme::1", PRICES), _run("baseline:mean", PRICES)]
    )
    assert list(table["Run"]) == ["ft:gpt-4o-mini:acme::1", "baseline:mean"]
    assert list(table.columns) == [
        "Run",
        "Items",
        "Average error",
        "RMSLE",
        "Hits",
        "MSE",
        "R²",
        "Unparsed",
    ]
    first = table.iloc[0]
    assert first["Average error"].startswith("$") and first["Hits"].endswith("%")
    assert first["Items"] == "6"


def test_the_items_table_shows_dollars_and_colours_each_hit() -> None:
    rows: list[Scored] = list(_run("m", PRICES).rows)
    html = items_table(rows).to_html()
    assert "$5.00" in html and "$300.00" in html
    for color in {r.color for r in rows}:
        assert HIT_COLORS[color].split(";")[0] in html


def _layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec.get("layer", [spec])


def test_the_scatter_is_square_and_offers_a_log_scale() -> None:
    run = _run("m", [*PRICES, (0.5, 0.0)])  # a $0 guess still shows, at $1, on log axes
    plain = course_chart(run.rows, run.metrics, name="m").to_dict()
    assert plain["width"] == plain["height"]
    logged = course_chart(run.rows, run.metrics, name="m", log=True).to_dict()
    scales = [layer["encoding"]["x"]["scale"] for layer in _layers(logged)]
    assert scales and all(scale["type"] == "log" for scale in scales)
    assert all(layer["encoding"]["x"]["scale"]["type"] == "linear" for layer in _layers(plain))
    points = logged["datasets"][logged["layer"][1]["data"]["name"]]
    assert min(p["y"] for p in points) == 1.0 and min(p["guess"] for p in points) == 0.0


def test_the_band_chart_gives_each_band_its_own_colour_and_a_legend() -> None:
    spec = band_chart(_run("m", PRICES).metrics).to_dict()
    color = spec["encoding"]["color"]
    assert color["legend"] is not None and color["legend"]["orient"] == "bottom"
    assert color["scale"]["domain"] == list(BAND_LABELS)
    colours = color["scale"]["range"][: len(BAND_LABELS)]
    assert len(set(colours)) == len(BAND_LABELS)


def test_the_comparison_gives_runs_distinct_colours_and_a_legend() -> None:
    runs = [_run("baseline:mean", PRICES), _run("baseline:regression", PRICES)]
    *panels, by_band = comparison_charts(runs)
    assert len(panels) == 3
    color = by_band.to_dict()["encoding"]["color"]
    assert color["legend"]["orient"] == "bottom"
    assert color["scale"]["domain"] == ["baseline:mean", "baseline:regression"]
    assert len(set(color["scale"]["range"][:2])) == 2
    assert comparison_chart(runs).to_dict()["vconcat"]  # one chart for a PNG, too
