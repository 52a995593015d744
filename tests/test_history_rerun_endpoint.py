"""History re-runs a chat evaluation with this session's one provider setting, nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.history import list_runs, record_run
from ftkit.history.recording import content_hash
from tests.fake_chat import serve

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "history.py")
KEY = "sk-typed-" + "k" * 24
SETTINGS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "FTKIT_HOSTED",
)


@pytest.fixture(autouse=True)
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    history.close_all()


def answer(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
    return ("answer", "30")


def recorded(base_url: str | None) -> int:
    settings = {
        "model": "gpt-4o-mini",
        "source": "sample",
        "size": 3,
        "workers": 1,
        "dataset_hash": content_hash("sample"),
        "base_url": base_url,
    }
    return record_run("evaluate", settings, {}, user="ana@example.com")


def history_page(url: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.secrets = {"ftkit": {}}
    at.run()
    at.sidebar.text_input(key="_input_openai_api_key").input(KEY)
    at.sidebar.text_input(key="_input_openai_base_url").input(url)
    return at.run()


def test_a_rerun_goes_to_the_sessions_endpoint_with_its_key() -> None:
    with serve(answer) as fake:
        original = recorded(fake.url)
        at = history_page(fake.url)
        assert f"Endpoint: {fake.url} · key from this session" in [c.value for c in at.caption]
        button = at.button(key="history_rerun")
        assert button.label == "Re-run: send 3 paid requests to `gpt-4o-mini`"
        assert fake.requests == []
        button.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert fake.authorizations == [f"Bearer {KEY}"] * 3
    assert list_runs(kind="evaluate")[0].parent_run_id == original


def test_a_run_recorded_elsewhere_asks_first_and_never_goes_to_the_recorded_endpoint() -> None:
    with serve(answer) as recorded_at, serve(answer) as session_at:
        recorded(recorded_at.url)
        at = history_page(session_at.url)
        assert not at.exception
        assert at.button(key="history_rerun").disabled  # nothing is sent before the user agrees
        assert any(recorded_at.url in w.value and session_at.url in w.value for w in at.warning)
        assert recorded_at.requests == [] and session_at.requests == []
        at.checkbox[0].check().run()
        at.button(key="history_rerun").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert recorded_at.requests == []
    assert len(session_at.requests) == 3
