"""The Train page drives a LoRA run on this computer to the end, and hands the model to Evaluate.

The tiny Llama trains on CPU for a few steps on a JSONL pair written here; the page's monitor
is re-run until the run ends, as its refreshing fragment would.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from apptest_support import errors, goto, metrics, on_page
from streamlit.testing.v1 import AppTest

from ftkit.dataset.jsonl import write_jsonl
from ftkit.dataset.messages import render_messages
from ftkit.sources.load import load_items
from ftkit.training.jobs import TERMINAL

pytestmark = pytest.mark.xdist_group("torch")

DEADLINE = 240.0


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("FTKIT_HOSTED", "FTKIT_LOCAL_TRAINING"):
        monkeypatch.delenv(name, raising=False)


def _pair(folder: Path) -> tuple[Path, Path]:
    """Write 16 training and 4 validation examples of the built-in sample."""
    items = load_items("sample").items
    train, valid = folder / "train.jsonl", folder / "validation.jsonl"
    write_jsonl(train, [{"messages": render_messages(item)} for item in items[:16]])
    write_jsonl(valid, [{"messages": render_messages(item)} for item in items[16:20]])
    return train, valid


def _local(at: AppTest, model: Path, train: Path, valid: Path) -> AppTest:
    """Choose "This computer" and fill the local form for a short run."""
    at.session_state["export_train_path"] = str(train)
    at.session_state["export_validation_path"] = str(valid)
    at.run()
    at.segmented_control(key="train_where_choice").set_value("local").run()
    at.text_input(key="train_local_base_model").input(str(model)).run()
    at.number_input(key="train_local_max_steps").set_value(6).run()
    at.number_input(key="train_local_batch").set_value(2).run()
    return at


def _until_done(at: AppTest) -> str:
    """Re-run the page until the monitor shows a finished run; return its status."""
    deadline = time.monotonic() + DEADLINE
    status = metrics(at).get("Status", "")
    while status not in TERMINAL and time.monotonic() < deadline:
        time.sleep(1.0)
        at.run()
        status = metrics(at).get("Status", "")
    return status


def test_the_page_drives_a_local_run_to_the_end(tiny_llama: Path, tmp_path: Path) -> None:
    train, valid = _pair(tmp_path)
    at = _local(on_page("train", timeout=120), tiny_llama, train, valid)
    assert not at.exception and not errors(at)
    plan = "\n".join(m.value for m in at.markdown)
    assert "device: " in plan and "steps: 6" in plan  # the plan, before anything starts
    qlora = at.checkbox(key="train_local_qlora")
    assert qlora.disabled and qlora.label.endswith("needs a CUDA GPU, none found")  # CPU here
    at.button(key="train_local_start").click().run()
    assert not errors(at)
    job_id = at.session_state["upload_job_id"]
    assert Path(job_id).parent == (tmp_path / "out" / ".ftkit" / "local-runs").resolve()
    assert _until_done(at) == "succeeded", errors(at)
    assert len(at.get("vega_lite_chart")) >= 1  # the loss chart
    assert at.session_state["finetuned_model"] == f"local:{job_id}"
    goto(at, "evaluate")
    assert at.session_state["evaluate_model"] == f"local:{job_id}"


def test_a_new_session_finds_the_run_again(tiny_llama: Path, tmp_path: Path) -> None:
    train, valid = _pair(tmp_path)
    at = _local(on_page("train", timeout=120), tiny_llama, train, valid)
    at.button(key="train_local_start").click().run()
    job_id = at.session_state["upload_job_id"]
    _until_done(at)
    reloaded = on_page("train", timeout=120).run()  # a page reload: a new session
    reloaded.segmented_control(key="train_where_choice").set_value("local").run()
    assert list(reloaded.dataframe[0].value["job"]) == [job_id]
    reloaded.button(key="train_open_local").click().run()
    assert reloaded.session_state["upload_job_id"] == job_id
    assert metrics(reloaded)["Status"] == "succeeded"


def test_a_hosted_user_may_train_only_on_their_own_files(
    tiny_llama: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTKIT_HOSTED", "1")
    monkeypatch.setenv("FTKIT_LOCAL_TRAINING", "1")
    at = on_page("train", timeout=120).run()
    at.segmented_control(key="train_where_choice").set_value("local").run()
    at.text_input(key="train_local_base_model").input(str(tiny_llama)).run()
    assert not at.exception
    [line] = [i.value for i in at.info if "Base model" in i.value]
    assert line.endswith("give a Hugging Face id (org/name) or a folder inside your workspace")
    assert at.button(key="train_local_start").disabled
