"""``history --rerun`` asks your own endpoint; another one than the recorded needs --yes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ftkit.history as history
from ftkit.cli import main
from ftkit.history import list_runs, record_run
from tests.fake_chat import FakeChat, serve

MODEL = "ft:gpt-4o-mini:acme::1"


@pytest.fixture
def servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeChat, FakeChat]]:
    """The endpoint a run recorded, and this user's own (in the environment)."""

    def reply(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        return ("answer", "42")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    with serve(reply) as recorded, serve(reply) as mine:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-my-own-key-1234567890")
        monkeypatch.setenv("OPENAI_BASE_URL", mine.url)
        record_run(
            "evaluate",
            {
                "model": MODEL,
                "source": "sample",
                "size": 2,
                "workers": 1,
                "base_url": recorded.url,
                "max_tokens": 8,
            },
            {},
            user="bo",
        )
        yield recorded, mine
    history.close_all()


def test_another_endpoint_is_refused_without_yes(
    servers: tuple[FakeChat, FakeChat], capsys: pytest.CaptureFixture[str]
) -> None:
    recorded, mine = servers
    assert main(["history", "--rerun", "1"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --yes to go ahead" in err
    assert f"it asked {recorded.url}" in err and mine.url in err
    assert len(list_runs()) == 1 and not mine.requests and not recorded.requests


def test_with_yes_the_rerun_asks_my_endpoint_only(servers: tuple[FakeChat, FakeChat]) -> None:
    recorded, mine = servers
    assert main(["history", "--rerun", "1", "--yes"]) == 0
    assert list_runs()[0].parent_run_id == 1
    assert len(mine.requests) == 2 and not recorded.requests


def test_the_recorded_endpoint_as_mine_needs_no_yes(
    servers: tuple[FakeChat, FakeChat], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded, mine = servers
    assert main(["history", "--rerun", "1", "--base-url", recorded.url]) == 0
    assert len(recorded.requests) == 2 and not mine.requests
