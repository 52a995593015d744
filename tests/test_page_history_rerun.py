"""Re-running from History asks this session's own endpoint, and asks first when it differs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.errors import HistoryError
from ftkit.history import Run, Scope, list_runs, open_store, record_run
from ftkit.history.recording import local_sources, recorded_endpoint, rerun
from ftkit.ui import state
from ftkit.ui.auth import SESSION_TOKEN_STATE
from tests.fake_chat import FakeChat, serve

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "history.py")
PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
)
MODEL = "ft:gpt-4o-mini:acme::1"
SECRETS = {"ftkit": {"allow_private_endpoints": True}}


@pytest.fixture(autouse=True)
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("FTKIT_DATABASE_URL", url)
    monkeypatch.setenv("FTKIT_USER", "ana")
    for name in (state.HOSTED_ENV, *PROVIDER_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield url
    history.close_all()


@pytest.fixture
def servers() -> Iterator[tuple[FakeChat, FakeChat]]:
    """Two fake chat servers: the one a run recorded, and this session's own."""

    def reply(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        return ("answer", "42")

    with serve(reply) as recorded, serve(reply) as mine:
        yield recorded, mine


def _page(hosted: bool, monkeypatch: pytest.MonkeyPatch, base_url: str) -> AppTest:
    if hosted:
        monkeypatch.setenv(state.HOSTED_ENV, "1")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.secrets = SECRETS
    at.session_state["openai_api_key"] = "sk-this-sessions-own-key-123456"
    at.session_state["openai_base_url"] = base_url
    return at.run()


def _record_evaluation(at: AppTest, hosted: bool, base_url: str) -> int:
    """Record a chat model's evaluation as this session's run; return its id."""
    store = open_store()
    if hosted:
        store = store.scoped(Scope(at.session_state[SESSION_TOKEN_STATE], "session"))
    settings = {
        "model": MODEL,
        "source": "sample",
        "dataset_hash": None,
        "size": 3,
        "workers": 1,
        "base_url": base_url,
        "max_tokens": 8,
        "prefill": True,
    }
    run_id = record_run("evaluate", settings, {}, user="ana", store=store)
    at.run()
    return run_id


def _reruns() -> list[Run]:
    return [run for run in list_runs(kind="evaluate") if run.parent_run_id is not None]


@pytest.mark.parametrize("hosted", [False, True], ids=["local", "hosted"])
def test_a_rerun_on_another_endpoint_asks_first_and_uses_mine(
    hosted: bool, monkeypatch: pytest.MonkeyPatch, servers: tuple[FakeChat, FakeChat]
) -> None:
    recorded, mine = servers
    at = _page(hosted, monkeypatch, mine.url)
    original = _record_evaluation(at, hosted, recorded.url)
    assert not at.exception
    warning = at.warning[0].value
    assert f"asked `{MODEL}` at `{recorded.url}`" in warning and mine.url in warning
    assert at.button(key="history_rerun").disabled

    at.run()  # not confirmed: nothing is asked anywhere
    assert not _reruns() and not mine.requests and not recorded.requests

    at.checkbox(key=f"history_rerun_confirm_{original}").check().run()
    assert not at.button(key="history_rerun").disabled
    at.button(key="history_rerun").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (again,) = _reruns()
    assert again.parent_run_id == original
    assert len(mine.requests) == 3 and not recorded.requests
    assert all(body["model"] == MODEL for body in mine.requests)


def test_a_rerun_on_the_same_endpoint_needs_no_confirm(
    monkeypatch: pytest.MonkeyPatch, servers: tuple[FakeChat, FakeChat]
) -> None:
    _, mine = servers
    at = _page(False, monkeypatch, mine.url)
    _record_evaluation(at, False, mine.url)
    assert not at.warning and not at.checkbox
    at.button(key="history_rerun").click().run()
    assert not at.exception and not at.error
    assert len(_reruns()) == 1 and len(mine.requests) == 3


@pytest.mark.parametrize(
    ("kind", "settings", "files"),
    [
        ("prepare", {"source": "sample"}, []),
        ("prepare", {"source": "upload:items.csv"}, []),
        ("prepare", {"source": "/data/items.csv"}, ["/data/items.csv"]),
        ("validate", {"source": "sample", "model": "m"}, []),
        (
            "validate",
            {"file": "/out/train.jsonl", "validation_file": "/out/v.jsonl"},
            ["/out/train.jsonl", "/out/v.jsonl"],
        ),
        ("validate", {"file": "/out/train.jsonl", "validation_file": None}, ["/out/train.jsonl"]),
        ("evaluate", {"source": "sample", "train_source": "/d/train.pkl"}, ["/d/train.pkl"]),
        ("evaluate", {"source": "/d/test.csv"}, ["/d/test.csv"]),
    ],
)
def test_local_sources_are_the_files_a_rerun_reads(
    kind: str, settings: dict[str, Any], files: list[str]
) -> None:
    run = Run(1, kind, "2026-12-01T00:00:00+00:00", "ana", "succeeded", settings, {})
    assert local_sources(run) == files


def test_a_rerun_without_paths_refuses_a_file_and_records_nothing() -> None:
    run_id = record_run("prepare", {"source": "/srv/data/items.csv"}, {}, user="ana")
    run = history.get_run(run_id)
    with pytest.raises(HistoryError, match=r"^run 1: it reads items.csv from the server's disk"):
        rerun(run, user="ana", allow_paths=False)
    assert len(list_runs()) == 1


@pytest.mark.parametrize(
    ("kind", "settings", "endpoint"),
    [
        ("evaluate", {"model": MODEL}, "https://api.openai.com/v1"),
        ("evaluate", {"model": MODEL, "base_url": "http://x.example/v1/"}, "http://x.example/v1"),
        ("evaluate", {"model": "baseline:mean", "base_url": "http://x.example/v1"}, None),
        ("prepare", {"model": MODEL}, None),
    ],
)
def test_recorded_endpoint(kind: str, settings: dict[str, Any], endpoint: str | None) -> None:
    run = Run(1, kind, "2026-12-01T00:00:00+00:00", "ana", "succeeded", settings, {})
    assert recorded_endpoint(run) == endpoint
