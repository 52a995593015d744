"""Evaluate under attack: typed endpoints refused, redirects unfollowed, confirms kept honest."""

from __future__ import annotations

import pytest

from ftkit.endpoints import generic_reason
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


@pytest.mark.parametrize(
    "url",
    [
        "http://0x7f000001/",
        "http://[::ffff:169.254.169.254]/",
        "http://evil@127.0.0.1/",
        "gopher://127.0.0.1/",
        "http://localhost./",
    ],
)
def test_a_typed_azure_endpoint_gets_the_same_refusals(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(answer) as fake:
        at = page(hosted(monkeypatch))
        at.sidebar.text_input(key="_input_azure_openai_endpoint").input(url)
        at.sidebar.text_input(key="_input_azure_openai_api_key").input("a" * 32)
        at = chat(at, None, key=None)
        (error,) = [e.value for e in at.error]
        assert error.startswith("Azure OpenAI endpoint: ") and "\n" not in error
        assert not [b for b in at.button if b.key in ("evaluate_review", "evaluate_confirm")]
    assert fake.requests == []


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_the_metadata_address_is_never_followed(
    status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_metadata = {"Location": "http://169.254.169.254/latest/meta-data/"}
    with serve(lambda body, attempt: ("status", status, to_metadata)) as fake:
        at = chat(page(hosted(monkeypatch)), fake.url, size=1)
        at.button(key="evaluate_review").click().run()
        at.button(key="evaluate_confirm").click().run()
    assert len(fake.requests) == 1
    assert f"HTTP {status}: {generic_reason(status)}" in shown(at)
    assert "redirect, which is not followed" in generic_reason(status)


LONG = "http://127.0.0.1:9/" + "a" * 70_000


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/v\n1", "http://127.0.0.1:9/v1\x00", LONG], ids=["lf", "nul", "long"]
)
def test_a_malformed_base_url_is_one_line_never_a_traceback(url: str) -> None:
    at = chat(page(), url, size=1)
    if not at.error:  # locally nothing refuses it before the run
        at.button(key="evaluate_review").click().run()
        at.button(key="evaluate_confirm").click().run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("Base URL: ") and "is not a valid URL" in error and len(error) < 300


@pytest.mark.parametrize(
    "url", ["http://8.8.8.8/v\n1", "http://8.8.8.8/\tv1", "http://8.8.8.8/v1\x7f"]
)
def test_a_hosted_base_url_with_a_control_character_is_refused_before_any_run(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = chat(page(hosted(monkeypatch)), url, size=1)
    assert not at.exception
    assert at.error[0].value == "Base URL: the URL holds a control character (a line break?)"
    assert not [b for b in at.button if b.key == "evaluate_review"]
