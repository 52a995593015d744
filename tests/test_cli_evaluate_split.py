"""``evaluate`` on a data file scores only held-out items and fits baselines on the train split."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ftkit.history as history
from ftkit.cli import main
from ftkit.dataset.sampling import split_items
from ftkit.evaluation.predictors import fit_text_regression
from ftkit.history import get_run, list_runs
from ftkit.sources.load import load_items
from tests.apptest_support import course_pickle
from tests.test_holdout import write_csv

KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("FTKIT_DATABASE_URL", url)
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    monkeypatch.chdir(tmp_path)
    yield url
    history.close_all()


def evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["evaluate", *args, "--no-save", "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def test_default_split_scores_no_training_or_validation_title(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(tmp_path / "items.csv", 700)
    code, data, err = evaluate(capsys, "--model", "baseline:mean", "--source", "items.csv")
    assert code == 0, err
    titles = [item["title"] for item in data["items"]]
    assert titles == [f"Widget {n}" for n in range(550, 700)]  # the 150 after 500 + 50
    mean = sum(10.0 + n for n in range(500)) / 500  # the first 500 rows' prices
    assert [item["guess"] for item in data["items"]] == pytest.approx([mean] * len(data["items"]))
    assert data["scored"]["scope"] == "held-out" and data["scored"]["available"] == 150
    assert data["scored"]["split"] == {
        "train": 500,
        "validation": 50,
        "seed": 42,
        "sampling": "first",
    }
    lines = err.splitlines()
    assert lines[0] == (
        "scoring 150 held-out items of items.csv (outside the 500 train + 50 validation items "
        "(sampling first, seed 42))"
    )
    assert lines[1] == "note: only 150 items to score, not 250: scoring all of them"
    assert lines[2].startswith("baselines fitted on the 500 training items of items.csv")


@pytest.mark.parametrize("strategy", ["random", "stratified"])
def test_a_seeded_split_scores_held_out_items_and_fits_the_regression_on_train(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strategy: str
) -> None:
    path = write_csv(tmp_path / "items.csv", 300)
    code, data, err = evaluate(
        capsys,
        "--model",
        "baseline:regression",
        "--source",
        str(path),
        "--sampling",
        strategy,
        "--seed",
        "7",
        "--train",
        "100",
        "--validation",
        "20",
        "--size",
        "60",
    )
    assert code == 0, err
    source = load_items(path).items
    split = split_items(source, train=100, validation=20, seed=7, strategy=strategy)  # type: ignore[arg-type]
    used = {item.title for item in (*split.train, *split.validation)}
    scored = [item["title"] for item in data["items"]]
    assert len(scored) == 60 and not used & set(scored)
    fitted = fit_text_regression(split.train)
    by_title = {item.title: item for item in source}
    for row in data["items"]:
        assert row["guess"] == pytest.approx(fitted.predict(by_title[row["title"]]), abs=0.01)


def test_an_old_style_train_path_names_the_new_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(tmp_path / "train.csv", 20)
    code, data, err = evaluate(capsys, "--model", "baseline:mean", "--train", "train.csv")
    assert code == 2 and data is None
    assert err == (
        "ftkit: error: --train is now the number of training items, as in prepare (default "
        "500); name the baselines' training file with --train-source train.csv\n"
    )


def test_a_source_with_nothing_held_out_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(tmp_path / "small.csv", 40)
    code, data, err = evaluate(
        capsys,
        "--model",
        "baseline:mean",
        "--source",
        "small.csv",
        "--train",
        "30",
        "--validation",
        "10",
    )
    assert code == 2 and data is None and err.count("\n") == 1
    assert err.startswith("ftkit: error: small.csv: no held-out items to score: its 40 items")
    assert "lower --train/--validation" in err


def test_a_test_pickle_is_scored_whole_with_baselines_on_the_train_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course_pickle(tmp_path / "test.pkl", 9)
    write_csv(tmp_path / "train.csv", 80)
    code, data, err = evaluate(
        capsys,
        "--model",
        "baseline:mean",
        "--source",
        "test.pkl",
        "--train-source",
        "train.csv",
        "--train",
        "40",
        "--validation",
        "5",
    )
    assert code == 0, err
    assert [i["title"] for i in data["items"]] == [i.title for i in load_items("test.pkl").items]
    mean = sum(10.0 + n for n in range(40)) / 40
    assert [item["guess"] for item in data["items"]] == pytest.approx([mean] * len(data["items"]))
    assert data["scored"]["scope"] == "test set"
    assert "baselines fitted on the 40 training items of train.csv" in err


def test_the_run_records_its_split_and_what_was_scored_and_reruns_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(tmp_path / "items.csv", 200)
    code, data, err = evaluate(
        capsys,
        "--model",
        "baseline:regression",
        "--source",
        "items.csv",
        "--train",
        "100",
        "--validation",
        "10",
        "--sampling",
        "random",
        "--size",
        "30",
    )
    assert code == 0, err
    (run,) = list_runs("evaluate")
    assert run.settings["split"] == {
        "train": 100,
        "validation": 10,
        "seed": 42,
        "sampling": "random",
    }
    assert run.settings["scored"] == "held-out"
    assert run.settings["scored_items"] == data["scored"]["description"]
    assert run.settings["train_source"] == os.path.abspath("items.csv")
    assert main(["history", "--rerun", str(run.id), "--json"]) == 0
    again = get_run(json.loads(capsys.readouterr().out)["id"])
    assert again.outputs["metrics"] == run.outputs["metrics"]
