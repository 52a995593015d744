"""Scoring the course's way: parsing, the colour rule at its boundaries, and the metrics."""

from __future__ import annotations

import math

import pytest

from ftkit.evaluation.scoring import color_for, compute_metrics, parse_guess, score_item, title_for


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("123.45", 123.45),
        ("$1,234.50", 1234.5),
        ("Price is $99", 99.0),
        ("about .5 dollars", 0.5),
        ("-5", 5.0),  # the course's pattern: the sign only binds to a decimal point
        ("-2.5", -2.5),
        ("12 or 15", 12.0),
        ("1,000", 1000.0),
        ("no idea", None),
        ("", None),
    ],
)
def test_parse_guess_takes_the_first_number_after_removing_dollar_and_commas(
    answer: str, expected: float | None
) -> None:
    assert parse_guess(answer) == expected


@pytest.mark.parametrize(
    ("error", "truth", "color"),
    [
        (39.99, 200, "green"),  # under $40
        (40, 200, "orange"),  # exactly $40 and exactly 20%: neither is "under"
        (40, 201, "green"),  # under 20%
        (10, 20, "green"),  # 50% but under $40
        (99.99, 500, "green"),  # just under 20%
        (100, 500, "orange"),  # exactly 20%, over $40, under 40%
        (79.99, 200, "orange"),  # under $80
        (80, 200, "red"),  # exactly $80 and exactly 40%
        (80, 201, "orange"),  # under 40%
        (199.99, 500, "orange"),  # just under 40%
        (200, 500, "red"),  # exactly 40%
        (79, 10, "orange"),  # 790% but under $80
        (150, 100, "red"),
    ],
)
def test_color_rule_boundaries(error: float, truth: float, color: str) -> None:
    assert color_for(error, truth) == color


def test_score_item_error_and_sle() -> None:
    row = score_item("x", 100.0, 120.0)
    assert row.error == 20.0
    assert row.sle == pytest.approx((math.log(101) - math.log(121)) ** 2)
    assert row.color == "green" and row.parsed


def test_an_unparsed_answer_is_a_guess_of_zero_and_counted() -> None:
    row = score_item("x", 50.0, None, answer="I cannot say")
    assert (row.guess, row.error, row.color, row.parsed) == (0.0, 50.0, "orange", False)
    assert row.sle == pytest.approx(math.log(51) ** 2)


def test_a_negative_guess_counts_as_zero_in_the_sle_only() -> None:
    row = score_item("x", 10.0, -5.0)
    assert row.error == 15.0
    assert row.sle == pytest.approx(math.log(11) ** 2)


def test_metrics_against_hand_worked_values() -> None:
    rows = [
        score_item("a", 100.0, 120.0),  # error 20, green
        score_item("b", 200.0, 150.0),  # error 50 (25%), orange
        score_item("c", 50.0, None),  # unparsed: guess 0, error 50 (100%), orange
        score_item("d", 100.0, 250.0),  # error 150 (150%), red
    ]
    m = compute_metrics(rows)
    assert m.size == 4
    assert m.average_error == pytest.approx(67.5)  # (20 + 50 + 50 + 150) / 4
    assert m.mse == pytest.approx(6975.0)  # (400 + 2500 + 2500 + 22500) / 4
    assert m.hit_rate_pct == pytest.approx(25.0)
    assert m.unparsed == 1
    assert m.colors == {"green": 1, "orange": 2, "red": 1}
    # SLEs: 0.0326417, 0.0818103, 15.4592528, 0.8287051 → mean 4.0980, root 2.02499
    assert m.rmsle == pytest.approx(2.024994, abs=1e-6)
    # mean truth 112.5; SS_tot 11875; SS_res 27900; R² = 1 − 27900/11875
    assert m.r2 == pytest.approx(-1.349474, abs=1e-6)
    bands = {b.band: b for b in m.by_band}
    assert list(bands) == ["$50–100", "$100–250"]
    assert bands["$50–100"].count == 1 and bands["$50–100"].average_error == 50.0
    assert bands["$100–250"].count == 3
    assert bands["$100–250"].average_error == pytest.approx(220 / 3)
    assert bands["$100–250"].hit_rate_pct == pytest.approx(100 / 3)
    assert bands["$100–250"].rmsle == pytest.approx(0.560701, abs=1e-6)


def test_r2_is_none_when_every_truth_is_equal_and_empty_runs_are_zero() -> None:
    assert compute_metrics([score_item("a", 10.0, 12.0), score_item("b", 10.0, 9.0)]).r2 is None
    empty = compute_metrics([])
    assert (empty.size, empty.average_error, empty.r2) == (0, 0.0, None)


def test_title_matches_the_course() -> None:
    m = compute_metrics([score_item("a", 1000.0, 2234.5678)])
    assert title_for("GPT", m) == "GPT Error=$1,234.57 RMSLE=0.80 Hits=0.0%"
