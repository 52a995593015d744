"""The Train page's Together and Fireworks choices: keys, models, estimate, serving, hand-off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptest_support import errors, goto, metrics, on_page
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.history import list_runs
from ftkit.providers import SETTING_NAMES
from tests.fake_fireworks import ACCOUNT, FakeFireworks
from tests.fake_fireworks import KEY as FW_KEY
from tests.fake_together import KEY, FakeTogether

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
HOSTED_NAMES = (
    "TOGETHER_API_KEY",
    "TOGETHER_BASE_URL",
    "FIREWORKS_API_KEY",
    "FIREWORKS_ACCOUNT_ID",
    "FIREWORKS_BASE_URL",
)
GOOD = {
    "messages": [
        {"role": "system", "content": "Estimate the price of the product."},
        {"role": "user", "content": "How much does this cost? Toaster, 2 slots"},
        {"role": "assistant", "content": "Price is $24.00"},
    ]
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in (*SETTING_NAMES, *HOSTED_NAMES, "FTKIT_HOSTED", "FTKIT_LOCAL_TRAINING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    yield
    history.close_all()


@pytest.fixture
def together(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTogether]:
    fake = FakeTogether()
    monkeypatch.setenv("TOGETHER_BASE_URL", fake.url)
    yield fake
    fake.stop()


def _files(folder: Path) -> tuple[Path, Path]:
    train, valid = folder / "train.jsonl", folder / "valid.jsonl"
    train.write_text("".join(json.dumps(GOOD) + "\n" for _ in range(20)), encoding="utf-8")
    valid.write_text("".join(json.dumps(GOOD) + "\n" for _ in range(5)), encoding="utf-8")
    return train, valid


def _where(at: AppTest, backend: str) -> AppTest:
    at.segmented_control(key="train_where_choice").set_value(backend).run()
    assert not at.exception
    return at


def _shown(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.error, *at.success)]
    return "\n".join(str(p) for p in parts) + "\n".join(e.label for e in at.expander)


def test_without_a_key_each_provider_says_where_to_get_one() -> None:
    at = on_page("train", timeout=60).run()
    for backend, line in (
        ("together", "set TOGETHER_API_KEY (find them at https://api.together.ai/settings/"),
        ("fireworks", "set FIREWORKS_API_KEY and FIREWORKS_ACCOUNT_ID"),
    ):
        _where(at, backend)
        assert line in _shown(at)
        fields = [w for w in at.text_input if w.key and w.key.startswith("_train_")]
        assert fields and all(w.key for w in fields)
        key_field = at.text_input(key=f"_train_{backend}_api_key")
        assert key_field.proto.type == key_field.proto.PASSWORD  # masked
        assert not [b for b in at.button if b.key == f"train_{backend}_start"]
        assert "type a base model id" in _shown(at)


def test_a_server_key_is_used_locally_and_a_typed_key_beats_it(
    together: FakeTogether, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", "tgp-server-key-0123456789abcdef")
    at = _where(on_page("train", timeout=60).run(), "together")
    assert "Together AI key · the server's key" in _shown(at)
    at.text_input(key="_train_together_api_key").input(KEY).run()
    assert "Together AI key · key from this session" in _shown(at)
    assert at.session_state["together_api_key"] == KEY


def test_hosted_mode_never_offers_the_server_key_unless_the_operator_allows(
    together: FakeTogether, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    monkeypatch.setenv("FTKIT_HOSTED", "1")
    for allow, label in ((False, "no key yet"), (True, "the server's key")):
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["ftkit"] = {"allow_server_key": allow}
        at.run()
        goto(at, "train")
        _where(at, "together")
        assert f"Together AI key · {label}" in _shown(at), _shown(at)
        assert KEY not in json.dumps([w.value for w in at.text_input])


def test_a_together_job_runs_from_the_page_and_its_model_goes_to_evaluate(
    together: FakeTogether, tmp_path: Path
) -> None:
    train, valid = _files(tmp_path)
    at = on_page("train", timeout=60)
    at.session_state["export_train_path"] = str(train)
    at.session_state["export_validation_path"] = str(valid)
    at.run()
    _where(at, "together")
    at.text_input(key="_train_together_api_key").input(KEY).run()
    models = at.selectbox(key="train_together_model_pick")
    assert len(models.options) > 1  # the live list
    at.button(key="train_together_estimate").click().run()
    assert at.info and not errors(at)
    at.button(key="train_together_start").click().run()
    assert not errors(at), errors(at)
    job_id = at.session_state["upload_job_id"]
    assert at.session_state["upload_job_backend"] == "together"
    for _ in range(20):
        if metrics(at).get("Status") in ("succeeded", "failed", "cancelled"):
            break
        at.run()
    assert metrics(at)["Status"] == "succeeded", errors(at)
    model = at.session_state["finetuned_model"]
    assert model and "dedicated endpoint" in _shown(at)
    at.button(key="train_together_hand_off").click().run()
    assert at.session_state["openai_base_url"].startswith("https://")
    assert at.session_state["openai_api_key"] == KEY
    runs = list_runs()
    assert runs and runs[0].settings["backend"] == "together"
    assert KEY not in json.dumps([run.settings for run in runs] + [run.outputs for run in runs])
    goto(at, "evaluate")
    assert at.text_input(key="evaluate_model").value == model
    assert job_id


def test_fireworks_shows_its_account_field_live_models_and_estimate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeFireworks()
    try:
        monkeypatch.setenv("FIREWORKS_BASE_URL", fake.url)
        train, _ = _files(tmp_path)
        at = on_page("train", timeout=60)
        at.session_state["export_train_path"] = str(train)
        at.run()
        _where(at, "fireworks")
        at.text_input(key="_train_fireworks_api_key").input(FW_KEY)
        at.text_input(key="_train_fireworks_account_id").input(ACCOUNT).run()
        options: list[Any] = at.selectbox(key="train_fireworks_model_pick").options
        assert "accounts/fireworks/models/llama-v3p1-8b-instruct" in options
        assert not any("flux" in option for option in options)  # only the tunable ones
        at.button(key="train_fireworks_estimate").click().run()
        assert not errors(at) and at.info
    finally:
        fake.close()


def test_a_missing_training_file_is_one_line_and_nothing_is_sent(
    together: FakeTogether, tmp_path: Path
) -> None:
    at = on_page("train", timeout=60)
    at.session_state["export_train_path"] = str(tmp_path / "gone.jsonl")
    at.session_state["together_api_key"] = KEY
    at.run()
    _where(at, "together")
    at.button(key="train_together_start").click().run()
    assert len(errors(at)) == 1 and "gone.jsonl" in errors(at)[0]
    assert together.bodies("POST", "/v1/fine-tunes") == []
    assert at.session_state["upload_job_id"] is None


def test_azure_takes_its_training_type_and_shows_the_deployment_command() -> None:
    from tests.fake_openai import KEY as AZURE_KEY
    from tests.fake_openai import shared_fake

    fake = shared_fake()
    at = on_page("train", timeout=60)
    at.session_state["azure_openai_endpoint"] = fake.azure_url
    at.session_state["azure_openai_api_key"] = AZURE_KEY
    training = fake.add_file("train.jsonl", "fine-tune", None, 10, "0" * 32)
    at.session_state["upload_files"] = {"training": training}
    at.run()
    at.selectbox(key="train_job_azure_type").select("developerTier")
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    assert not errors(at), errors(at)
    job_id = at.session_state["upload_job_id"]
    sent = [call.body for call in fake.calls("POST", "/fine_tuning/jobs")]
    assert job_id in fake.state.jobs and sent[-1]["trainingType"] == "developerTier"
    for _ in range(5):
        at.run()
    assert metrics(at)["Status"] == "succeeded"
    assert "az cognitiveservices account deployment create" in _shown(at)


def _succeeded_together_job(fake: FakeTogether, folder: Path) -> str:
    from ftkit.training.together import TogetherTrainer
    from ftkit.training.trainer import TrainRequest

    trainer = TogetherTrainer(KEY, base_url=fake.url, sleep=lambda _: None)
    train, _ = _files(folder)
    job_id = trainer.start(TrainRequest(str(train)), run_id="7")["id"]
    while trainer.retrieve(job_id)["status"] != "succeeded":
        pass
    return job_id


def test_the_hand_off_never_copies_a_hosted_servers_key_into_the_browser(
    together: FakeTogether, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    job_id = _succeeded_together_job(together, tmp_path)
    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    monkeypatch.setenv("FTKIT_HOSTED", "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["ftkit"] = {"allow_server_key": True}
    at.run()
    goto(at, "train")
    at.session_state["upload_job_id"] = job_id
    at.session_state["upload_job_backend"] = "together"
    _where(at, "together")
    assert metrics(at)["Status"] == "succeeded", errors(at)
    at.button(key="train_together_hand_off").click().run()
    assert at.session_state["openai_base_url"].startswith("https://")
    assert "openai_api_key" not in at.session_state  # the person types their own
    assert "type your Together AI key as the OpenAI API key" in _shown(at)
    assert KEY not in json.dumps([w.value for w in at.text_input])


def test_a_hosted_servers_fireworks_key_goes_only_with_the_servers_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeFireworks()
    try:
        for name, value in (
            ("FIREWORKS_API_KEY", FW_KEY),
            ("FIREWORKS_ACCOUNT_ID", ACCOUNT),
            ("FIREWORKS_BASE_URL", fake.url),
            ("FTKIT_HOSTED", "1"),
        ):
            monkeypatch.setenv(name, value)
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["ftkit"] = {"allow_server_key": True}
        at.run()
        goto(at, "train")
        _where(at, "fireworks")
        at.text_input(key="_train_fireworks_account_id").input("someone-else").run()
        assert "Fireworks AI key · the server's key" in _shown(at)
        at.button(key="train_fireworks_lists").click().run()
        assert not errors(at), errors(at)
        accounts = {r.path.split("/")[3] for r in fake.requests if r.path.startswith("/v1/acc")}
        assert "someone-else" not in accounts and ACCOUNT in accounts
    finally:
        fake.close()


def test_the_providers_estimate_reads_beside_the_check_pages_count(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeFireworks()
    try:
        monkeypatch.setenv("FIREWORKS_BASE_URL", fake.url)
        train, _ = _files(tmp_path)
        at = on_page("check", timeout=60).run()
        checked = at.session_state["check_estimate"]
        goto(at, "train")
        at.session_state["export_train_path"] = str(train)
        at.run()
        _where(at, "fireworks")
        at.text_input(key="_train_fireworks_api_key").input(FW_KEY)
        at.text_input(key="_train_fireworks_account_id").input(ACCOUNT).run()
        at.button(key="train_fireworks_estimate").click().run()
        shown = " ".join(caption.value for caption in at.caption)
        assert not errors(at)
        assert f"{checked['billed_tokens']:,} billed tokens" in shown
        assert f"{checked['epochs']} epochs, {checked['model']}" in shown
    finally:
        fake.close()
