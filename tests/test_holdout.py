"""What an evaluation scores: held-out items of a file, the sample's test split, a test set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ftkit.dataset.sampling import SplitSettings, split_items
from ftkit.errors import EvaluationError, SamplingError
from ftkit.evaluation.holdout import (
    choose_items,
    held_out_items,
    is_test_set,
    split_from_settings,
    split_to_settings,
)
from ftkit.sources.load import load_items
from tests.apptest_support import course_pickle


def write_csv(path: Path, rows: int) -> Path:
    """Write a CSV of ``rows`` widgets, priced from $10 up, in that order."""
    frame = pd.DataFrame(
        {
            "title": [f"Widget {n}" for n in range(rows)],
            "description": [
                f"A sturdy steel widget, model {n}, for the garden." for n in range(rows)
            ],
            "price": [10.0 + n for n in range(rows)],
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("test.pkl", True),
        ("data/test_lite.pkl", True),
        ("TEST.pickle", True),
        ("train.pkl", False),
        ("test.csv", False),
        ("items.pkl", False),
        ("contest.pkl", False),
    ],
)
def test_a_test_set_is_a_pickle_named_test(name: str, expected: bool) -> None:
    assert is_test_set(name) is expected


@pytest.mark.parametrize("strategy", ["first", "random", "stratified"])
def test_a_data_file_scores_only_items_outside_train_and_validation(
    tmp_path: Path, strategy: str
) -> None:
    path = write_csv(tmp_path / "items.csv", 90)
    split = SplitSettings(train=40, validation=10, seed=3, strategy=strategy)  # type: ignore[arg-type]
    chosen = choose_items(str(path), split=split)
    drawn = split_items(load_items(path).items, train=40, validation=10, seed=3, strategy=strategy)  # type: ignore[arg-type]
    used = {item.title for item in (*drawn.train, *drawn.validation)}
    assert len(chosen.items) == 40 and not used & {item.title for item in chosen.items}
    assert chosen.train == drawn.train and chosen.scope == "held-out"
    assert chosen.describe(25) == (
        f"25 held-out items of items.csv (outside the 40 train + 10 validation items "
        f"(sampling {strategy}, seed 3))"
    )


def test_the_sample_scores_its_own_test_split(tmp_path: Path) -> None:
    chosen = choose_items("sample", split=SplitSettings(train=100, validation=10))
    assert chosen.items == load_items("sample", split="test").items
    train = load_items("sample", split="train").items
    assert chosen.train == split_items(train, train=100, validation=10).train
    assert chosen.scope == "test split"
    assert chosen.describe_train().startswith("baselines fitted on the 100 training items of the")


def test_a_course_test_pickle_is_scored_whole_with_baselines_from_another_source(
    tmp_path: Path,
) -> None:
    test = course_pickle(tmp_path / "test.pkl", 12)
    train = write_csv(tmp_path / "train.csv", 30)
    split = SplitSettings(train=20, validation=5)
    chosen = choose_items(str(test), split=split, train_source=str(train))
    assert [i.title for i in chosen.items] == [i.title for i in load_items(test).items]
    assert [i.title for i in chosen.train] == [f"Widget {n}" for n in range(20)]
    assert chosen.scope == "test set" and "the first 12 items of test.pkl" in chosen.describe()
    by_default = choose_items(str(test), split=split)
    assert "the built-in sample" in by_default.describe_train()


def test_a_chat_model_loads_no_training_items(tmp_path: Path) -> None:
    test = course_pickle(tmp_path / "test.pkl", 5)
    chosen = choose_items(
        str(test), split=SplitSettings(), train_source="missing.csv", fit_baselines=False
    )
    assert chosen.train == [] and len(chosen.items) == 5


def test_too_small_a_training_source_names_the_file(tmp_path: Path) -> None:
    test = course_pickle(tmp_path / "test.pkl", 5)
    train = write_csv(tmp_path / "few.csv", 8)
    with pytest.raises(SamplingError, match=r"^few\.csv: asked for 500 train \+ 50 validation"):
        choose_items(str(test), split=SplitSettings(), train_source=str(train))


@pytest.mark.parametrize("rows", [30, 50])
def test_no_held_out_items_is_one_clear_line(rows: int) -> None:
    from tests.test_sampling import items

    chosen = held_out_items(items(rows), "small.csv", SplitSettings(train=40, validation=10))
    assert chosen.items == []
    with pytest.raises(EvaluationError) as caught:
        chosen.require("lower --train")
    message = str(caught.value)
    assert message == (
        f"small.csv: no held-out items to score: its {rows} items all go to the 40 train + "
        "10 validation items (sampling first, seed 42); lower --train"
    )


def test_a_shortfall_is_said_in_one_line(tmp_path: Path) -> None:
    chosen = choose_items(str(write_csv(tmp_path / "items.csv", 60)), split=SplitSettings(40, 10))
    assert len(chosen.items) == 10
    assert chosen.shortfall(250) == "only 10 items to score, not 250: scoring all of them"
    assert chosen.shortfall(10) is None


def test_recorded_split_settings_round_trip() -> None:
    split = SplitSettings(train=300, validation=20, seed=7, strategy="stratified")
    assert split_to_settings(split) == {
        "train": 300,
        "validation": 20,
        "seed": 7,
        "sampling": "stratified",
    }
    assert split_from_settings(split_to_settings(split)) == split
    assert split_from_settings(None) == SplitSettings()
    with pytest.raises(EvaluationError):
        split_from_settings({"train": "many"})
