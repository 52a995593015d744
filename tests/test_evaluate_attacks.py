"""Evaluate under pressure: a pending confirm never outlives a change of who pays."""

from __future__ import annotations

import pytest

from tests.fake_chat import serve
from tests.test_evaluate_trust import SERVER_KEY, answer, chat, clean, hosted, page, shown  # noqa: F401


def test_changing_the_key_cancels_the_pending_confirm() -> None:
    with serve(answer) as fake:
        at = chat(page(), fake.url)
        at.button(key="evaluate_review").click().run()
        at.sidebar.text_input(key="_input_openai_api_key").input("sk-other-" + "o" * 24).run()
        assert not [b for b in at.button if b.key == "evaluate_confirm"]
        assert "review the run again" in shown(at)
    assert fake.requests == []


def test_switching_from_the_servers_key_to_a_typed_one_cancels_the_confirm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    with serve(answer) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        at = chat(page(hosted(monkeypatch, allow_server_key=True)), None, key=None)
        at.button(key="evaluate_review").click().run()
        assert "the server's key" in shown(at)
        at.sidebar.text_input(key="_input_openai_api_key").input("sk-mine-" + "m" * 24).run()
        assert not [b for b in at.button if b.key == "evaluate_confirm"]
    assert fake.requests == []
