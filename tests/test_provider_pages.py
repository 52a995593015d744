"""Train in hosted mode: the session's endpoint is shown, and a refused one says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_support import on_page
from streamlit.testing.v1 import AppTest

from ftkit.providers import SETTING_NAMES


@pytest.fixture(autouse=True)
def hosted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FTKIT_HOSTED", "1")


def upload_page(url: str, secrets: dict | None = None) -> AppTest:
    at = on_page("train", timeout=30)
    at.secrets = secrets or {"ftkit": {}}
    at.session_state["openai_api_key"] = "sk-typed-" + "k" * 24
    at.session_state["openai_base_url"] = url
    return at.run()


def upload_button_disabled(at: AppTest) -> bool:
    return next(b for b in at.button if b.key == "upload_upload").disabled


@pytest.mark.parametrize("url", ["http://169.254.169.254/v1", "http://10.0.0.5:8000/v1"])
def test_an_internal_endpoint_is_refused_and_nothing_can_be_sent(url: str) -> None:
    at = upload_page(url)
    assert not at.exception
    assert at.error[0].value.startswith("Base URL: ") and "address" in at.error[0].value
    assert upload_button_disabled(at)
    assert at.button(key="FormSubmitter:upload_job_form-Create job").disabled


def test_the_operator_can_allow_an_internal_endpoint() -> None:
    at = upload_page("http://10.0.0.5:8000/v1", {"ftkit": {"allowed_endpoint_hosts": ["10.0.0.5"]}})
    assert not at.exception and not at.error
    assert "Endpoint: http://10.0.0.5:8000/v1 · key from this session" in [
        c.value for c in at.caption
    ]
    assert not at.button(key="FormSubmitter:upload_job_form-Create job").disabled
