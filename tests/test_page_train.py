"""AppTest for the Train page, without a key and against the fake server with one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from apptest_support import goto, metrics, on_page
from streamlit.testing.v1 import AppTest

from ftkit.hosting import LOCAL_TRAINING_OFF
from ftkit.preflight.cost import DEFAULT_EPOCHS
from ftkit.providers import SETTING_NAMES
from ftkit.ui import state
from ftkit.ui.training import short_time, time_left
from tests.fake_openai import KEY, FakeOpenAI, shared_fake
from tests.test_files_upload import write_examples

SETTINGS = SETTING_NAMES


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in (*SETTINGS, "FTKIT_HOSTED", "FTKIT_LOCAL_TRAINING"):
        monkeypatch.delenv(name, raising=False)


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_without_a_key_the_page_says_what_to_set_and_disables_the_buttons() -> None:
    at = on_page("train", timeout=30).run()
    assert not at.exception
    assert "set OPENAI_API_KEY" in at.info[0].value
    assert _button(at, "upload_upload").disabled
    assert at.button(key="FormSubmitter:upload_job_form-Create job").disabled
    assert "gpt-4o-mini-2024-07-18" in at.dataframe[0].value["model"].tolist()


def test_a_key_in_st_secrets_is_enough() -> None:
    at = on_page("train", timeout=30)
    at.secrets["OPENAI_API_KEY"] = KEY
    at.run()
    assert not at.info
    assert not _button(at, "upload_lists").disabled


def test_with_a_key_upload_train_and_monitor(tmp_path: Path) -> None:
    fake: FakeOpenAI = shared_fake()
    train = write_examples(tmp_path / "train.jsonl")
    val = write_examples(tmp_path / "validation.jsonl", 10)
    at = on_page("train", timeout=30)
    at.session_state["openai_api_key"] = KEY
    at.session_state["openai_base_url"] = fake.url
    at.session_state["export_train_path"] = str(train)
    at.session_state["export_validation_path"] = str(val)
    at.run()
    assert not at.info and not at.exception
    assert at.text_input(key="upload_train_path").value == str(train)
    _button(at, "upload_upload").click().run()
    assert not at.error, [e.value for e in at.error]
    (uploaded,) = [d.value for d in at.dataframe if "id" in d.value.columns]
    assert list(uploaded["file"]) == ["training", "validation"]
    assert list(uploaded["status"]) == ["processed", "processed"]
    assert at.session_state["upload_files"]["training"]["status"] == "processed"
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    assert not at.error, [e.value for e in at.error]
    job_id = at.session_state["upload_job_id"]
    assert job_id in fake.state.jobs
    assert fake.state.jobs[job_id]["validation_file"] is not None
    for _ in range(5):
        at.run()
    assert at.metric[0].value == "succeeded"
    assert at.session_state["finetuned_model"].startswith("ft:gpt-4o-mini-2024-07-18:")
    assert KEY not in str([m.value for m in at.markdown])


def test_the_job_form_sends_the_sessions_epochs(tmp_path: Path) -> None:
    fake: FakeOpenAI = shared_fake()
    at = on_page("train", timeout=30)
    at.session_state["openai_api_key"] = KEY
    at.session_state["openai_base_url"] = fake.url
    at.session_state[state.EPOCHS] = 4  # chosen on the Check page
    training = fake.add_file("train.jsonl", "fine-tune", None, 10, "0" * 32)
    at.session_state["upload_files"] = {"training": training}
    at.run()
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    assert not at.error, [e.value for e in at.error]
    job = fake.state.jobs[at.session_state["upload_job_id"]]
    assert job["hyperparameters"]["n_epochs"] == 4


def test_without_a_choice_the_job_form_sends_the_shared_default() -> None:
    at = on_page("train", timeout=30).run()
    assert at.selectbox(key="train_job_epochs").value == DEFAULT_EPOCHS


def test_a_closed_organisation_sees_one_clear_message() -> None:
    fake = shared_fake()
    fake.closed = True
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    at = on_page("train", timeout=30)
    at.session_state["openai_api_key"] = KEY
    at.session_state["openai_base_url"] = fake.url
    at.session_state["upload_files"] = {
        "training": {
            "id": train,
            "bytes": 2,
            "filename": "t.jsonl",
            "purpose": "fine-tune",
            "status": "processed",
        }
    }
    at.run()
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    (error,) = at.error
    assert "wind-down" in error.value and "Azure OpenAI" in error.value
    assert at.session_state["upload_job_id"] is None


DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")
SHORT = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d$")  # "Dec 6, 14:05"


def _connected(fake: FakeOpenAI) -> AppTest:
    """Open Train with a key for the fake server (not yet run)."""
    at = on_page("train", timeout=30)
    at.session_state["openai_api_key"] = KEY
    at.session_state["openai_base_url"] = fake.url
    return at


def _running_job(fake: FakeOpenAI) -> AppTest:
    """Create a job that keeps running and open it in the monitor."""
    fake.steps = 1000
    training = fake.add_file("train.jsonl", "fine-tune", None, 10, "0" * 32)
    at = _connected(fake)
    at.session_state["upload_files"] = {"training": training}
    at.run()
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    for _ in range(3):
        at.run()
    assert metrics(at)["Status"] == "running"
    return at


def test_the_page_has_one_heading_and_ends_with_the_next_step() -> None:
    at = on_page("train", timeout=30).run()
    assert [h.value for h in at.header] == ["Train"]
    assert not at.title
    assert at.get("page_link")[-1].proto.label == "Next: Evaluate"


def test_each_place_to_train_says_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    at = on_page("train", timeout=30).run()
    assert at.segmented_control(key="train_where_choice").value == "provider"
    assert "This choice needs an API key: set OPENAI_API_KEY" in at.info[0].value
    monkeypatch.setenv("FTKIT_HOSTED", "1")
    at.segmented_control(key="train_where_choice").set_value("local").run()
    assert not at.exception
    assert LOCAL_TRAINING_OFF in [i.value for i in at.info]
    assert not [b for b in at.button if b.key == "train_local_start"]
    assert at.get("page_link")  # the rest of the page still draws


def test_the_choice_of_where_to_train_is_kept_between_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FTKIT_HOSTED", "1")  # local training off: the choice draws no form
    at = on_page("train", timeout=30).run()
    at.segmented_control(key="train_where_choice").set_value("local").run()
    goto(at, "data")
    goto(at, "train")
    assert at.segmented_control(key="train_where_choice").value == "local"


def test_checks_model_and_epochs_fill_the_job_form() -> None:
    at = on_page("train", timeout=30)
    at.session_state[state.CHECK_MODEL] = "gpt-4.1-mini-2025-04-14"
    at.session_state[state.EPOCHS] = 3
    at.run()
    assert at.selectbox(key="train_job_model").value == "gpt-4.1-mini-2025-04-14"
    assert at.selectbox(key="train_job_epochs").value == 3


def test_the_job_form_keeps_its_values_across_pages() -> None:
    at = _connected(shared_fake()).run()
    at.text_input(key="train_job_suffix").input("mine")
    at.text_input(key="train_job_batch").input("8")
    at.selectbox(key="train_job_epochs").select(5)
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    goto(at, "data")
    goto(at, "train")
    assert at.text_input(key="train_job_suffix").value == "mine"
    assert at.text_input(key="train_job_batch").value == "8"
    assert at.selectbox(key="train_job_epochs").value == 5
    assert at.session_state[state.EPOCHS] == 5  # one epochs choice: Check shows it too


def test_uploaded_file_ids_fill_the_job_form(tmp_path: Path) -> None:
    fake = shared_fake()
    at = _connected(fake)
    at.session_state["export_train_path"] = str(write_examples(tmp_path / "train.jsonl"))
    at.run()
    _button(at, "upload_upload").click().run()
    uploaded = at.session_state["upload_files"]["training"]["id"]
    assert at.text_input(key="train_job_training_file").value == uploaded


def test_cancel_asks_first_and_resume_waits_for_a_stopped_job() -> None:
    fake = shared_fake()
    at = _running_job(fake)
    job_id = at.session_state["upload_job_id"]
    assert _button(at, "train_resume").disabled
    assert SHORT.match(metrics(at)["Estimated finish (UTC)"])
    _button(at, "train_cancel").click().run()
    assert fake.state.jobs[job_id]["status"] == "running"  # nothing happens without a yes
    assert "Cancel" in at.warning[0].value
    _button(at, "train_cancel_no").click().run()
    assert fake.state.jobs[job_id]["status"] == "running"
    _button(at, "train_cancel").click().run()
    _button(at, "train_cancel_yes").click().run()
    assert fake.state.jobs[job_id]["status"] == "cancelled"
    at.run()
    assert metrics(at)["Status"] == "cancelled"
    assert _button(at, "train_cancel").disabled and not _button(at, "train_resume").disabled


def test_a_finished_job_shows_when_it_finished_and_both_charts() -> None:
    fake = shared_fake()
    training = fake.add_file("train.jsonl", "fine-tune", None, 10, "0" * 32)
    at = _connected(fake)
    at.session_state["upload_files"] = {"training": training}
    at.run()
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    for _ in range(6):
        at.run()
    shown = metrics(at)
    assert shown["Status"] == "succeeded"
    assert "Estimated finish (UTC)" not in shown and SHORT.match(shown["Finished (UTC)"])
    assert not [s for s in at.success if "Created" in s.value]  # no stale "Created" banner
    assert len(at.get("vega_lite_chart")) == 2  # loss, and token accuracy
    assert at.session_state["finetuned_model"].startswith("ft:")


def test_past_jobs_and_files_show_readable_dates_and_open_in_the_monitor() -> None:
    fake = shared_fake()
    training = fake.add_file("train.jsonl", "fine-tune", None, 10, "0" * 32)
    fake.state.files[training["id"]]["status"] = "processed"
    at = _connected(fake)
    at.session_state["upload_files"] = {"training": training}
    at.run()
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    job_id = at.session_state["upload_job_id"]
    at.session_state["upload_job_id"] = None  # a new session would not know it
    _button(at, "upload_lists").click().run()
    (jobs,) = [d.value for d in at.dataframe if "job" in d.value.columns]
    (files,) = [d.value for d in at.dataframe if "uploaded" in d.value.columns]
    assert list(jobs["job"]) == [job_id]
    assert all(DATE.match(value) for value in jobs["created"])
    assert all(DATE.match(value) for value in files["uploaded"])
    assert "Fine-tuning jobs, newest first (times in UTC)" in [c.value for c in at.caption]
    at.selectbox(key="train_past_provider").select(job_id)
    _button(at, "train_open_provider").click().run()
    assert at.session_state["upload_job_id"] == job_id
    assert metrics(at)["Status"] in ("queued", "running")


def test_without_the_training_packages_the_local_choice_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ftkit.training import local_plan

    line = "local training needs torch, trl: pip install -r requirements-train.txt"
    monkeypatch.setattr(local_plan, "missing_packages", lambda: line)
    at = on_page("train", timeout=30).run()
    at.segmented_control(key="train_where_choice").set_value("local").run()
    assert not at.exception and not at.error
    [info] = [i.value for i in at.info if "requirements-train.txt" in i.value]
    assert info.startswith("Local training needs torch, trl: pip install -r requirements-train.txt")
    assert "docs/training.md" in info
    assert at.text_input(key="train_local_base_model").disabled
    assert not [b for b in at.button if b.key == "train_local_start"]
    assert at.get("page_link")[-1].proto.label == "Next: Evaluate"  # the rest of the page works


@pytest.mark.parametrize(
    ("stamp", "now", "when", "left"),
    [
        (None, 0.0, "-", "not estimated yet"),
        (1_765_029_900, 1_765_029_900 - 720.0, "Dec 6, 14:05", "in 12 min"),
        (1_765_029_900, 1_765_029_900 - 7_500.0, "Dec 6, 14:05", "in 2 h 05 min"),
        (1_765_029_900, 1_765_029_900 + 30.0, "Dec 6, 14:05", "any moment"),
    ],
    ids=["none", "minutes", "hours", "overdue"],
)
def test_the_estimated_finish_reads_as_a_time_and_how_long_is_left(
    stamp: int | None, now: float, when: str, left: str
) -> None:
    assert short_time(stamp) == when
    assert time_left(stamp, now) == left


def test_an_ended_job_stops_refreshing_and_a_resumed_one_is_watched_again() -> None:
    fake = shared_fake()
    at = _running_job(fake)
    job_id = at.session_state["upload_job_id"]
    _button(at, "train_cancel").click().run()
    _button(at, "train_cancel_yes").click().run()
    at.run()
    assert metrics(at)["Status"] == "cancelled"
    assert not [b for b in at.button if b.key == "upload_refresh"]  # nothing left to refresh
    fake.state.jobs[job_id]["status"] = "paused"  # a backend that resumes cancelled jobs
    at.run()
    _button(at, "train_resume").click().run()
    at.run()
    assert metrics(at)["Status"] == "running"
    assert at.session_state["upload_polls"] < 10  # the monitor refreshes itself again


def test_a_hosted_session_cannot_open_a_run_outside_its_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftkit.training.local import RUN_MARKER

    monkeypatch.setenv("FTKIT_HOSTED", "1")
    monkeypatch.setenv("FTKIT_LOCAL_TRAINING", "1")
    other = tmp_path / "someone-else" / "run"
    other.mkdir(parents=True)
    (other / "request.json").write_text(json.dumps({"ftkit": RUN_MARKER, "request": {}}))
    at = on_page("train", timeout=30)
    at.session_state["upload_job_id"] = str(other)  # what a forged session would carry
    at.session_state["upload_job_backend"] = "local"
    at.run()
    assert not at.exception and not at.metric
    assert [e.value for e in at.error] == [f"{other}: not a run of this workspace"]


def test_a_field_that_is_not_a_number_is_named() -> None:
    fake = shared_fake()
    at = _connected(fake).run()
    at.text_input(key="train_job_training_file").input("file-x")
    at.text_input(key="train_job_batch").input("eight")
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    assert [e.value for e in at.error] == ["Batch size: 'eight' is not a number or auto"]
    assert not fake.state.jobs
