"""AppTest for the Train page, without a key and against the fake server with one."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_support import on_page
from streamlit.testing.v1 import AppTest

from ftkit.preflight.cost import DEFAULT_EPOCHS
from ftkit.providers import SETTING_NAMES
from ftkit.ui import state
from tests.fake_openai import KEY, FakeOpenAI, shared_fake
from tests.test_files_upload import write_examples

SETTINGS = SETTING_NAMES


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_without_a_key_the_page_says_what_to_set_and_disables_the_buttons() -> None:
    at = on_page("train", timeout=30).run()
    assert not at.exception
    assert "set OPENAI_API_KEY" in at.info[0].value
    assert _button(at, "upload_upload").disabled
    assert at.button(key="FormSubmitter:upload_job_form-Create job").disabled
    assert "gpt-4o-mini-2024-07-18" in at.dataframe[0].value["name"].tolist()


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
    shown = [j.value for j in at.json]
    assert len(shown) == 2 and '"purpose": "fine-tune"' in shown[0]
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
