"""The course's baselines, with no network at all."""

from __future__ import annotations

import random
import socket
from typing import Any

import pytest

from ftkit.errors import EvaluationError
from ftkit.evaluation.predictors import fit_text_regression, make_baseline
from ftkit.evaluation.run import evaluate
from ftkit.items import Item
from ftkit.sources.load import load_items


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a baseline tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def item(title: str, price: float, text: str = "") -> Item:
    return Item(title=title, price=price, prompt=f"How much?\n\n{title}\n{text}\n\nPrice is $1")


def test_random_baseline_is_the_courses_seeded_sequence_in_item_order() -> None:
    items = [item(f"t{i}", 10.0) for i in range(20)]
    run = evaluate(items, make_baseline("baseline:random", []), model="r", workers=1)
    random.seed(42)
    assert [r.guess for r in run.rows] == [float(random.randrange(1, 1000)) for _ in range(20)]


def test_mean_baseline_guesses_the_training_mean() -> None:
    train = [item("a", 10.0), item("b", 20.0), item("c", 60.0)]
    run = evaluate([item("x", 50.0)], make_baseline("baseline:mean", train), model="m", workers=1)
    assert run.rows[0].guess == 30.0 and run.rows[0].error == 20.0


def test_regression_learns_from_words() -> None:
    train = [item(f"cheap pen {i}", 2.0 + i % 3, "plastic pen") for i in range(30)]
    train += [item(f"laptop {i}", 900.0 + i % 5, "laptop computer screen") for i in range(30)]
    model = fit_text_regression(train)
    assert model.predict(item("new pen", 3.0, "plastic pen")) < 10
    assert model.predict(item("new laptop", 950.0, "laptop computer screen")) > 500


def test_regression_on_the_sample_beats_the_mean_baseline() -> None:
    train = load_items("sample", split="train").items
    test = load_items("sample", split="test").items[:250]
    mean = evaluate(test, make_baseline("baseline:mean", train), model="m", workers=1)
    regression = evaluate(test, make_baseline("baseline:regression", train), model="r", workers=1)
    assert regression.metrics.average_error < mean.metrics.average_error
    assert regression.metrics.rmsle < mean.metrics.rmsle
    assert all(r.guess >= 0 for r in regression.rows)


@pytest.mark.parametrize(
    ("name", "train", "message"),
    [
        ("baseline:median", [], "unknown baseline 'baseline:median'"),
        ("baseline:mean", [], "baseline:mean needs training items"),
        ("baseline:regression", [], "baseline:regression needs at least 2 training items"),
    ],
)
def test_bad_baselines_raise_one_line(name: str, train: list[Item], message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        make_baseline(name, train)
