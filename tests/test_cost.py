"""Epochs, billed tokens, dollars and the price table."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ftkit.cli import build_parser
from ftkit.errors import FtkitError, PriceTableError
from ftkit.preflight.cost import (
    DEFAULT_EPOCHS,
    billed_tokens,
    default_epochs,
    estimate_inference_cost,
    estimate_training_cost,
    load_prices,
)
from ftkit.preflight.scan import check_file
from ftkit.training.jobs import JobSpec
from ftkit.training.models import MODELS
from ftkit.ui.state import EPOCHS, LECTURE_DEFAULTS


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [
        (1, 25),  # 100 would need 100 epochs: capped at 25
        (4, 25),  # 4 × 25 = 100
        (20, 5),  # 20 × 5 = 100
        (33, 4),  # 33 × 3 = 99 < 100, so 4
        (34, 3),  # 34 × 3 = 102: the default stands
        (35, 3),
        (8_333, 3),  # 24,999
        (8_334, 2),  # 25,002 > 25,000
        (10_000, 2),  # 20,000
        (25_000, 1),
        (30_000, 1),  # 1 epoch is the floor even above 25,000
    ],
)
def test_default_epochs_at_the_edges(examples: int, epochs: int) -> None:
    assert default_epochs(examples) == epochs


def test_billed_tokens_caps_each_example_at_the_limit() -> None:
    assert billed_tokens([100, 70_000, 5], epochs=3, limit=65_536) == 3 * (100 + 65_536 + 5)
    assert billed_tokens([], epochs=3, limit=10) == 0


def test_dollar_arithmetic() -> None:
    prices = load_prices().models["gpt-4o-mini-2024-07-18"]
    assert prices == {
        "training_per_1m": 3.0,
        "input_per_1m": 0.3,
        "output_per_1m": 1.2,
        "base_input_per_1m": 0.15,
        "base_output_per_1m": 0.6,
    }
    assert estimate_training_cost(1_000_000, prices) == pytest.approx(3.0)
    assert estimate_training_cost(241_140, prices) == pytest.approx(0.72342)
    assert estimate_inference_cost(1_000_000, 1_000_000, prices) == pytest.approx(1.5)
    assert estimate_inference_cost(1_000_000, 1_000_000, prices, base=True) == pytest.approx(0.75)


def test_every_model_has_a_price_and_the_table_has_a_date() -> None:
    table = load_prices()
    assert set(MODELS) <= set(table.models)
    assert table.as_of and table.currency == "USD"


def test_report_cost_and_date(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b"\n".join(
            orjson.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"item {i}"},
                        {"role": "assistant", "content": f"Price is ${i}.00"},
                    ]
                }
            )
            for i in range(20)
        )
    )
    report = check_file(path, model="gpt-3.5-turbo-0125", epochs=None)  # OpenAI's rule
    assert report.epochs == 5 and report.epochs_source == "auto"
    assert report.billed_tokens == 5 * report.tokens.total
    assert report.estimated_cost_usd == pytest.approx(report.billed_tokens * 8 / 1e6, abs=1e-4)
    assert report.prices_as_of == load_prices().as_of
    chosen = check_file(path, model="gpt-3.5-turbo-0125", epochs=2)
    assert chosen.billed_tokens == 2 * report.tokens.total and chosen.epochs_source == "user"


def test_user_price_table_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "prices.json"
    rates = {"training_per_1m": 1.0, "input_per_1m": 0.0, "output_per_1m": 0.0}
    mine.write_bytes(
        orjson.dumps(
            {"as_of": "2030-01-01", "currency": "USD", "models": {"gpt-4o-mini-2024-07-18": rates}}
        )
    )
    monkeypatch.setenv("FTKIT_PRICES", str(mine))
    table = load_prices()
    assert table.as_of == "2030-01-01" and table.source == str(mine)


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"as_of": "", "models": {}}',
        b'{"as_of": "x", "models": {"m": {}}}',
        b'{"as_of": "x", "models": {"m": {"training_per_1m": -1}}}',
        b'{"as_of": "x", "models": {"m": {"training_per_1m": 1, "input_per_1m": 1, '
        b'"output_per_1m": 1, "base_input_per_1m": 1}}}',  # a base rate without its pair
        b'{"as_of": "x", "models": {"m": {"training_per_1m": 1, "input_per_1m": 1, '
        b'"output_per_1m": 1, "base_input_per_1m": "1", "base_output_per_1m": 1}}}',
    ],
)
def test_bad_price_table_is_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    bad = tmp_path / "bad-prices.json"
    bad.write_bytes(content)
    monkeypatch.setenv("FTKIT_PRICES", str(bad))
    with pytest.raises(PriceTableError) as caught:
        load_prices()
    assert isinstance(caught.value, FtkitError)
    assert str(bad) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_price_table(tmp_path: Path) -> None:
    with pytest.raises(PriceTableError, match=r"nowhere\.json"):
        load_prices(tmp_path / "nowhere.json")


def test_the_default_epochs_are_the_ones_a_job_gets() -> None:
    """Check's estimate, the job spec, ``finetune`` and ``validate`` share one default."""
    assert JobSpec(training_file="file-1").n_epochs == DEFAULT_EPOCHS
    parser = build_parser()
    finetune = parser.parse_args(["finetune", "--training-file", "file-1"])
    validate = parser.parse_args(["validate", "t.jsonl"])
    assert finetune.epochs == validate.epochs == DEFAULT_EPOCHS
    assert LECTURE_DEFAULTS[EPOCHS] == DEFAULT_EPOCHS


def test_check_file_prices_the_default_epochs_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    row = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    path.write_bytes(b"\n".join(orjson.dumps(row) for _ in range(20)))
    report = check_file(path)
    assert report.epochs == DEFAULT_EPOCHS
    assert report.billed_tokens == DEFAULT_EPOCHS * report.tokens.total
