"""The Evaluate page scores the dataset's held-out items; baselines learn its train split."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apptest_support import assert_clean, goto, open_app
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.history import get_run, list_runs
from ftkit.history.recording import rerun_evaluate
from ftkit.ui import state
from tests.test_holdout import write_csv

KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def local_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    monkeypatch.chdir(tmp_path)
    yield
    history.close_all()


def csv_bytes(tmp_path: Path, rows: int) -> bytes:
    return write_csv(tmp_path / "widgets.csv", rows).read_bytes()


def with_dataset(tmp_path: Path, rows: int) -> AppTest:
    """Open the app, upload a CSV of ``rows`` widgets on the Data page, go to Evaluate."""
    at = open_app()
    upload = ("widgets.csv", csv_bytes(tmp_path, rows), "text/csv")
    at.file_uploader(key="data_upload").set_value(upload).run()
    assert at.session_state[state.DATASET_KIND] == "upload"
    return goto(at, "evaluate")


def scored_titles(at: AppTest) -> list[str]:
    return [item["title"] for item in at.session_state["evaluate_runs"][-1]["items"]]


def test_an_uploaded_dataset_is_scored_on_its_held_out_items(tmp_path: Path) -> None:
    at = with_dataset(tmp_path, 700)
    assert_clean(at)
    captions = " ".join(c.value for c in at.main.caption)
    assert "150 held-out items of widgets.csv (outside the 500 train + 50 validation" in captions
    at.selectbox(key="evaluate_predictor").select("baseline:mean").run()
    assert "Baselines fitted on the 500 training items of widgets.csv" in " ".join(
        c.value for c in at.main.caption
    )
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    assert scored_titles(at) == [f"Widget {n}" for n in range(550, 700)]
    guesses = {item["guess"] for item in at.session_state["evaluate_runs"][-1]["items"]}
    assert guesses == {sum(10.0 + n for n in range(500)) / 500}


def test_the_compose_split_decides_what_is_held_out(tmp_path: Path) -> None:
    at = with_dataset(tmp_path, 300)
    goto(at, "compose")
    at.selectbox(key="compose_strategy").select("random").run()
    at.number_input(key="compose_train").set_value(100)
    at.number_input(key="compose_validation").set_value(20).run()
    goto(at, "messages")
    table = at.dataframe[0].value
    goto(at, "evaluate")
    at.selectbox(key="evaluate_predictor").select("baseline:regression").run()
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    scored = {item["truth"] for item in at.session_state["evaluate_runs"][-1]["items"]}
    drawn = set(table["price"])  # every widget has its own price
    assert len(drawn) == 120 and len(scored) == 180 and not drawn & scored


def test_a_small_dataset_keeps_a_fifth_held_out(tmp_path: Path) -> None:
    at = with_dataset(tmp_path, 40)
    assert_clean(at)
    captions = " ".join(c.value for c in at.main.caption)
    assert "8 held-out items of widgets.csv (outside the 29 train + 3 validation" in captions


def test_a_split_that_takes_every_item_is_one_info_line(tmp_path: Path) -> None:
    at = with_dataset(tmp_path, 40)
    goto(at, "compose")
    at.number_input(key="compose_train").set_value(35)
    at.number_input(key="compose_validation").set_value(5).run()
    goto(at, "evaluate")
    assert_clean(at)
    assert [i.value for i in at.info] == [
        "widgets.csv: nothing is held out for testing; lower the training or validation size "
        "on the Compose page, or upload a separate test file."
    ]
    assert not at.button


def test_a_separate_test_file_is_scored_whole(tmp_path: Path) -> None:
    at = with_dataset(tmp_path, 700)
    test = write_csv(tmp_path / "holdout.csv", 12).read_bytes()
    at.file_uploader(key="evaluate_upload").set_value(("holdout.csv", test, "text/csv")).run()
    at.selectbox(key="evaluate_predictor").select("baseline:mean").run()
    assert "the first 12 items of holdout.csv" in " ".join(c.value for c in at.main.caption)
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    assert scored_titles(at) == [f"Widget {n}" for n in range(12)]


def test_a_local_file_run_records_its_split_and_reruns_on_the_same_items(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "widgets.csv", 640)
    at = open_app()
    at.text_input(key="data_path").input(str(path))
    at.button[0].click().run()
    goto(at, "evaluate")
    at.selectbox(key="evaluate_predictor").select("baseline:regression").run()
    at.number_input(key="evaluate_size").set_value(40).run()
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    (run,) = list_runs(kind="evaluate")
    assert run.settings["source"] == str(path) and run.settings["train_source"] == str(path)
    assert run.settings["split"] == {
        "train": 500,
        "validation": 50,
        "seed": 42,
        "sampling": "first",
    }
    assert run.settings["scored"] == "held-out"
    assert run.settings["scored_items"].startswith("40 held-out items of ")
    again = get_run(rerun_evaluate(run, user="ana@example.com"))
    assert again.outputs["metrics"] == run.outputs["metrics"]


def test_a_course_test_pickle_dataset_is_scored_whole(tmp_path: Path) -> None:
    from apptest_support import course_pickle

    path = course_pickle(tmp_path / "test.pkl", 20)
    at = open_app()
    at.text_input(key="data_path").input(str(path))
    at.button[0].click().run()
    goto(at, "evaluate")
    at.selectbox(key="evaluate_predictor").select("baseline:mean").run()
    captions = " ".join(c.value for c in at.main.caption)
    assert f"the first 20 items of {path} (a test set" in captions
    assert "training items of the built-in sample" in captions
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    assert len(scored_titles(at)) == 20
