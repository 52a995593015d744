"""Pages that do the work record it: Export, Check, Train, Evaluate; History re-runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptest_support import assert_clean, goto, on_page, open_app
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.dataset.prepare import TRAIN_FILENAME
from ftkit.history import get_run, list_runs, record_run
from ftkit.history.recording import content_hash
from ftkit.preflight.cost import DEFAULT_EPOCHS
from ftkit.ui import state
from tests.fake_openai import KEY, shared_fake
from tests.test_files_upload import write_examples

PAGES = Path(__file__).resolve().parent.parent / "app_pages"
SETTINGS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
)


@pytest.fixture(autouse=True)
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("FTKIT_DATABASE_URL", url)
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield url
    history.close_all()


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)


def test_export_records_a_prepare_with_the_data_pages_hash(tmp_path: Path) -> None:
    at = open_app("export")
    before = len(list_runs(kind="prepare"))
    at.text_input(key="export_folder").input(str(tmp_path / "out"))
    at.button[0].click().run()
    assert_clean(at)
    runs = list_runs(kind="prepare")
    assert len(runs) == before + 1
    run = runs[0]
    assert run.settings["dataset_hash"] == f"sha256:{at.session_state[state.DATASET_HASH]}"
    assert run.settings["dataset_hash"] == content_hash("sample")
    assert run.settings["source"] == "sample"
    assert run.settings["sizes"] == {"train": 500, "validation": 50}
    assert (run.settings["seed"], run.settings["strategy"]) == (42, "first")
    assert run.settings["out_dir"] == str(tmp_path / "out")
    train = tmp_path / "out" / TRAIN_FILENAME
    assert run.outputs["train_path"] == str(train) and run.outputs["train_count"] == 500
    assert run.outputs["train_hash"] == content_hash(train)
    assert run.user == "ana@example.com"

    # the History page re-runs it through the library: the same files come out
    train.unlink()
    goto(at, "history")
    at.button(key="history_rerun").click().run()
    assert_clean(at)
    again = list_runs(kind="prepare")[0]
    assert again.parent_run_id == run.id
    assert again.outputs["train_hash"] == run.outputs["train_hash"]


def test_check_records_one_validate_per_distinct_check() -> None:
    at = open_app("check")
    assert_clean(at)
    (run,) = list_runs(kind="validate")
    assert run.settings["model"] == at.session_state[state.MODEL]
    assert run.settings["hyperparameters"] == {"n_epochs": DEFAULT_EPOCHS}
    assert run.settings["dataset_hash"] == content_hash("sample")
    assert run.outputs["ok"] is True and run.outputs["metrics"]["examples"] == 500
    at.run()
    assert len(list_runs(kind="validate")) == 1  # a rerun of the page is not a new check
    at.selectbox(key="check_epochs").select(3).run()
    newest = list_runs(kind="validate")
    assert len(newest) == 2 and newest[0].settings["hyperparameters"] == {"n_epochs": 3}

    # a check composed on the dashboard re-runs by composing the split again
    goto(at, "history")
    at.button(key="history_rerun").click().run()
    assert_clean(at)
    again = list_runs(kind="validate")[0]
    assert again.parent_run_id == newest[0].id
    assert again.outputs["metrics"] == newest[0].outputs["metrics"]


def test_evaluate_page_baseline_run_records_an_evaluation() -> None:
    at = open_app("evaluate")
    at.selectbox(key="evaluate_predictor").select("baseline:mean").run()
    at.number_input(key="evaluate_size").set_value(30).run()
    at.button(key="evaluate_run").click().run()
    assert not at.exception and not at.error
    (run,) = list_runs(kind="evaluate")
    shown = at.session_state["evaluate_runs"][0]
    assert run.settings["model"] == "baseline:mean" and run.settings["size"] == 30
    assert run.settings["dataset_hash"] == content_hash("sample")
    recorded = run.outputs["metrics"]
    assert recorded["average_error"] == pytest.approx(shown["average_error"], abs=0.01)
    assert recorded["hit_rate_pct"] == pytest.approx(shown["hit_rate_pct"], abs=0.1)
    assert run.status == "succeeded"


def test_history_reruns_a_baseline_evaluation_without_a_key() -> None:
    at = open_app("evaluate")
    at.selectbox(key="evaluate_predictor").select("baseline:random").run()
    at.number_input(key="evaluate_size").set_value(12).run()
    at.button(key="evaluate_run").click().run()
    (original,) = list_runs(kind="evaluate")
    at = _page("history")
    at.secrets = {"ftkit": {}}
    at.run()
    at.button(key="history_rerun").click().run()
    assert not at.exception and not at.error
    again = list_runs(kind="evaluate")[0]
    assert again.parent_run_id == original.id
    assert again.outputs["metrics"] == original.outputs["metrics"]
    assert Path(again.outputs["saved_path"]).is_file()


def test_history_model_rerun_without_a_key_is_one_clear_line() -> None:
    run_id = record_run(
        "evaluate",
        {"model": "ft:gpt-4o-mini:acme::1", "source": "sample", "size": 5},
        {},
        user="ana",
    )
    at = _page("history")
    at.secrets = {"ftkit": {}}
    at.run()
    assert not at.exception and not at.error
    assert not [b for b in at.button if b.key == "history_rerun"]
    assert f"run {run_id} asks `ft:gpt-4o-mini:acme::1`" in at.info[0].value


def test_upload_and_train_record_uploads_and_the_job(tmp_path: Path) -> None:
    fake = shared_fake()
    train = write_examples(tmp_path / "train.jsonl")
    at = on_page("train")
    at.session_state["openai_api_key"] = KEY
    at.session_state["openai_base_url"] = fake.url
    at.session_state["export_train_path"] = str(train)
    at.run()
    next(b for b in at.button if b.key == "upload_upload").click().run()
    assert not at.error, [e.value for e in at.error]
    (upload,) = list_runs(kind="upload")
    assert upload.settings["dataset_hash"] == content_hash(train)
    assert upload.settings["base_url"] == fake.url
    assert upload.outputs["file_id"] == at.session_state["upload_files"]["training"]["id"]

    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    assert not at.error, [e.value for e in at.error]
    job_id = at.session_state["upload_job_id"]
    (run,) = list_runs(kind="finetune")
    assert fake.calls("POST", "/fine_tuning/jobs")[0].body["metadata"] == {
        "ftkit_run_id": str(run.id)
    }
    assert (
        run.outputs["job_id"] == job_id
        and run.settings["training_file"] == upload.outputs["file_id"]
    )
    for _ in range(5):
        at.run()
    assert at.session_state["finetuned_model"]
    done = get_run(run.id)
    assert done.status == "succeeded"
    assert done.outputs["fine_tuned_model"] == at.session_state["finetuned_model"]
    assert done.outputs["trained_tokens"] == 12345 and "train_loss" in done.outputs["metrics"]
    assert KEY not in json.dumps([r.settings | r.outputs for r in list_runs()])


def test_a_broken_history_never_stops_export(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FTKIT_DATABASE_URL", "nosuch://db")
    at = open_app("export")
    at.text_input(key="export_folder").input(str(tmp_path / "out"))
    at.button[0].click().run()
    assert_clean(at)
    assert (tmp_path / "out" / TRAIN_FILENAME).is_file()
    assert any("Not recorded in the history" in c.value for c in at.caption)
