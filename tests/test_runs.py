"""Saved runs: JSON and CSV written atomically, reopened, compared."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest

from ftkit.errors import EvaluationError
from ftkit.evaluation.run import Run
from ftkit.evaluation.saved import compare_runs, load_run, run_to_csv, run_to_json, save_run
from ftkit.evaluation.scoring import score_item


def make_run(model: str, guesses: list[float | None], created: str = "2026-11-26T10:00:00Z") -> Run:
    truths = [100.0, 200.0, 50.0][: len(guesses)]
    rows = tuple(
        score_item(f"item {i}", t, g, answer=None if g is None else str(g))
        for i, (t, g) in enumerate(zip(truths, guesses, strict=True))
    )
    return Run(model=model, source="sample", requested=3, rows=rows, created=created)


def test_save_and_reopen_round_trip(tmp_path: Path) -> None:
    run = make_run("ft:gpt-4o-mini:me::abc", [120.0, 150.0, None])
    json_path, csv_path = save_run(run, tmp_path / "runs")
    assert json_path.name == "ft_gpt-4o-mini_me_abc-20261126T100000.json"
    again = load_run(json_path)
    assert again.rows == run.rows and again.metrics == run.metrics
    assert again.metrics.unparsed == 1 and again.complete
    with csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["color"] for r in rows] == ["green", "orange", "orange"]
    assert list(rows[0]) == ["title", "truth", "guess", "error", "sle", "color", "parsed", "answer"]
    assert not list(tmp_path.glob("runs/.*.tmp"))


def test_json_shape_is_strict_json() -> None:
    data = orjson.loads(orjson.dumps(run_to_json(make_run("m", [100.0, 200.0, 50.0]))))
    assert data["r2"] == 1.0 and data["average_error"] == 0.0 and data["hit_rate_pct"] == 100.0
    assert set(data["items"][0]) >= {"title", "truth", "guess", "error", "color"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "not a saved ftkit run"),
        (b'{"model": "m", "items": [{"title": "a"}]}', r"items\[0\]: needs title, truth and guess"),
        (b'{"model": "m", "items": [{"title": "a", "truth": 0, "guess": 1}]}', "positive price"),
    ],
)
def test_a_bad_run_file_is_one_line_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(EvaluationError, match=message) as err:
        load_run(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_compare_labels_runs_uniquely() -> None:
    runs = [make_run("a", [100.0, 150.0]), make_run("a", [90.0, 200.0], "2026-11-27T00:00:00Z")]
    rows = compare_runs([*runs, make_run("b", [10.0])])
    assert [r["run"] for r in rows] == ["a @ 2026-11-26T10:00:00Z", "a @ 2026-11-27T00:00:00Z", "b"]
    assert rows[0]["average_error"] == 25.0 and rows[2]["size"] == 1


@pytest.mark.parametrize(
    ("title", "answer", "cells"),
    [
        (
            "=cmd|' /C calc'!A0",
            '=HYPERLINK("http://evil.example")',
            ["'=cmd|' /C calc'!A0", '\'=HYPERLINK("http://evil.example")'],
        ),
        ("+1+2", "-5", ["'+1+2", "'-5"]),
        ("@SUM(A1)", "\tx", ["'@SUM(A1)", "'\tx"]),
        ("Lamp = 5 W", "Price is $5", ["Lamp = 5 W", "Price is $5"]),
    ],
)
def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_text(
    title: str, answer: str, cells: list[str]
) -> None:
    row = score_item(title, 10.0, 12.0, answer=answer)
    run = Run(model="m", source="sample", requested=1, rows=(row,), created="2026-11-26T10:00:00Z")
    (written,) = csv.DictReader(run_to_csv(run).splitlines())
    assert [written["title"], written["answer"]] == cells
