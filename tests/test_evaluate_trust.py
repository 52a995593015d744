"""Evaluate sends no paid request the user did not confirm, to the session's one endpoint only.

AppTest drives the page against loopback fake Chat Completions servers that record every
request and its Authorization header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_support import goto
from tests.fake_chat import serve, user_text

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
CHAT = "Chat model (OpenAI, Azure or compatible)"
OTHER_URL = "http://127.0.0.1:9/v1"
FINETUNED = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
TYPED_KEY = "sk-typed-" + "t" * 24
SERVER_KEY = "sk-server-" + "s" * 24
SETTINGS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "FTKIT_HOSTED",
)


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def answer(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
    return ("answer", "30")


def page(secrets: dict[str, Any] | None = None) -> AppTest:
    """Open the app (with ``secrets``, if given) and go to the Evaluate page."""
    at = AppTest.from_file(APP, default_timeout=60)
    if secrets is not None:
        at.secrets = secrets
    at.run()
    goto(at, "evaluate")
    assert not at.exception
    return at


def chat(at: AppTest, url: str | None, *, key: str | None = TYPED_KEY, size: int = 5) -> AppTest:
    """Type the provider in the sidebar, pick a chat model and the number of items."""
    if key:
        at.sidebar.text_input(key="_input_openai_api_key").input(key)
    if url:
        at.sidebar.text_input(key="_input_openai_base_url").input(url)
    at.selectbox(key="evaluate_predictor").select(CHAT).run()
    at.text_input(key="evaluate_model").input("gpt-4o-mini").run()
    return at.number_input(key="evaluate_size").set_value(size).run()


def shown(at: AppTest) -> str:
    """Return every text the page shows, in one string."""
    parts = [
        e.value
        for kind in ("error", "warning", "info", "markdown", "caption", "success")
        for e in getattr(at, kind)
    ]
    parts += [e.message for e in at.exception]
    return "\n".join(str(p) for p in parts)


def forget_hidden_model_box(at: AppTest) -> None:
    """Do what a browser session does to a text box a page stops showing: forget its value."""
    if "evaluate_model" in at.session_state:
        del at.session_state["evaluate_model"]


def test_toggling_to_a_baseline_after_a_succeeded_job_never_ends_on_chat() -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.session_state["finetuned_model"] = FINETUNED
    goto(at, "evaluate")
    predictor = at.selectbox(key="evaluate_predictor")
    assert predictor.value == CHAT and at.text_input(key="evaluate_model").value == FINETUNED
    for baseline in ("baseline:mean", "baseline:random", "baseline:mean", "baseline:regression"):
        at.selectbox(key="evaluate_predictor").select(baseline).run()
        for _ in range(3):
            forget_hidden_model_box(at)
            at.run()
            assert at.selectbox(key="evaluate_predictor").value == baseline
            assert not [t for t in at.text_input if t.key == "evaluate_model"]
    at.selectbox(key="evaluate_predictor").select(CHAT).run()
    assert at.text_input(key="evaluate_model").value == FINETUNED  # the name is still there
    at.selectbox(key="evaluate_predictor").select("baseline:mean").run()
    at.button(key="evaluate_run").click().run()  # a baseline runs without a confirm
    assert not at.exception and not at.error
    assert at.selectbox(key="evaluate_predictor").value == "baseline:mean"
    assert at.session_state["evaluate_runs"][-1]["model"] == "baseline:mean"


def test_a_job_finishing_later_does_not_override_a_picked_baseline() -> None:
    at = page()
    at.selectbox(key="evaluate_predictor").select("baseline:mean").run()
    at.session_state["finetuned_model"] = FINETUNED
    at.run()
    assert at.selectbox(key="evaluate_predictor").value == "baseline:mean"
    at.selectbox(key="evaluate_predictor").select(CHAT).run()
    assert at.text_input(key="evaluate_model").value == FINETUNED


def test_no_request_before_the_confirm_and_n_after() -> None:
    with serve(answer) as fake:
        at = chat(page(), fake.url, size=7)
        assert not [b for b in at.button if b.key in ("evaluate_run", "evaluate_confirm")]
        at.button(key="evaluate_review").click().run()
        review = shown(at)
        assert "This run sends 7 paid requests" in review and "Model: `gpt-4o-mini`" in review
        assert f"Endpoint: {fake.url}" in review and "Estimated cost: at most $" in review
        for _ in range(2):
            at.run()  # reruns do not start it either
        assert fake.requests == []
        at.button(key="evaluate_confirm").click().run()
        assert len(fake.requests) == 7
        assert not [b for b in at.button if b.key == "evaluate_confirm"]  # gone as it started
        at.run()
        assert len(fake.requests) == 7  # one confirm, one run
        assert not [b for b in at.button if b.key == "evaluate_confirm"]
    assert not at.exception and not at.error
    assert at.session_state["evaluate_runs"][-1]["size"] == 7


@pytest.mark.parametrize(
    "change",
    [
        lambda at: at.number_input(key="evaluate_size").set_value(4),
        lambda at: at.text_input(key="evaluate_model").input("gpt-4o"),
        lambda at: at.number_input(key="evaluate_workers").set_value(2),
        lambda at: at.sidebar.text_input(key="_input_openai_base_url").input(OTHER_URL),
    ],
    ids=["size", "model", "workers", "endpoint"],
)
def test_any_change_of_settings_cancels_the_pending_confirm(change: Any) -> None:
    with serve(answer) as fake:
        at = chat(page(), fake.url)
        at.button(key="evaluate_review").click().run()
        change(at).run()
        assert not [b for b in at.button if b.key == "evaluate_confirm"]
        assert "review the run again" in shown(at)
    assert fake.requests == []


def test_cancel_forgets_the_review() -> None:
    with serve(answer) as fake:
        at = chat(page(), fake.url)
        at.button(key="evaluate_review").click().run()
        at.button(key="evaluate_cancel").click().run()
        assert not [b for b in at.button if b.key == "evaluate_confirm"]
    assert fake.requests == []


def test_stop_keeps_the_scored_items_and_says_the_user_stopped() -> None:
    at = page()
    at.session_state["evaluate_partial"] = {
        "model": "gpt-4o-mini",
        "source": "sample",
        "requested": 250,
        "items": [{"title": "Kettle", "truth": 40.0, "guess": 45.0, "parsed": True}],
    }
    at.session_state["evaluate_stopping"] = True  # what the Stop button's callback sets
    at.run()
    assert "stopped by the user after 1 of 250 items" in at.warning[0].value
    assert at.session_state["evaluate_runs"][0]["stopped"] == "stopped by the user"
    at.run()
    assert not at.warning  # said once


def hosted(monkeypatch: pytest.MonkeyPatch, **ftkit: Any) -> dict[str, Any]:
    monkeypatch.setenv("FTKIT_HOSTED", "1")
    return {"ftkit": {"allowed_endpoint_hosts": ["127.0.0.1"], **ftkit}}


def test_a_typed_endpoint_never_receives_the_server_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    with serve(answer) as operator, serve(answer) as typed:
        monkeypatch.setenv("OPENAI_BASE_URL", operator.url)
        secrets = hosted(monkeypatch, allow_server_key=True)
        at = chat(page(secrets), typed.url, key=None)
        assert "the server's key is only sent to" in shown(at)
        assert not [b for b in at.button if b.key == "evaluate_review"]
        at.sidebar.text_input(key="_input_openai_api_key").input(TYPED_KEY).run()
        at.button(key="evaluate_review").click().run()
        at.button(key="evaluate_confirm").click().run()
        assert typed.authorizations == [f"Bearer {TYPED_KEY}"] * 5
        # the operator's endpoint gets the server's key when the session types no endpoint
        at.sidebar.text_input(key="_input_openai_api_key").input("")
        at.sidebar.text_input(key="_input_openai_base_url").input("").run()
        assert f"Endpoint: {operator.url} · the server's key" in shown(at)
        at.button(key="evaluate_review").click().run()
        at.button(key="evaluate_confirm").click().run()
    assert operator.authorizations == [f"Bearer {SERVER_KEY}"] * 5
    assert SERVER_KEY not in str(typed.authorizations)


def test_the_guard_refuses_an_internal_endpoint_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve(answer) as fake:
        at = chat(page(hosted(monkeypatch)), "http://169.254.169.254/v1")
        assert at.error[0].value.startswith("Base URL: 169.254.169.254 is a link-local address")
        assert not [b for b in at.button if b.key in ("evaluate_review", "evaluate_confirm")]
        refused = chat(page({"ftkit": {}}), fake.url)  # loopback, not allowed by the operator
        assert "is a loopback address" in refused.error[0].value
        assert not [b for b in refused.button if b.key == "evaluate_review"]
    assert fake.requests == []


def test_a_typed_endpoints_500_body_never_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "Traceback: connection to db-internal:5432 refused, password=hunter2"
    with serve(lambda b, a: ("status", 500, {"Retry-After": "0"}, body)) as fake:
        at = chat(page(hosted(monkeypatch)), fake.url, size=2)
        at.button(key="evaluate_review").click().run()
        at.button(key="evaluate_confirm").click().run()
    text = shown(at)
    assert "hunter2" not in text and "db-internal" not in text
    assert "2 of 2 items failed after every retry" in text
    assert "HTTP 500: server error at the endpoint) (2 items)" in text


def test_failures_give_their_reasons_with_counts() -> None:
    order: dict[str, int] = {}  # the first item asked gets 429s, the second 503s

    def reply(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        place = order.setdefault(user_text(body), len(order))
        if place == 0:
            return ("status", 429, {"Retry-After": "0"}, "Rate limit reached for gpt-4o-mini")
        if place == 1:
            return ("status", 503, {"Retry-After": "0"}, "The engine is overloaded")
        return ("answer", "30")

    with serve(reply) as fake:
        at = chat(page(), fake.url, size=6)
        at.button(key="evaluate_review").click().run()
        at.button(key="evaluate_confirm").click().run()
    assert not at.exception and not at.error
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("2 of 6 items failed after every retry")
    # locally the endpoint is the user's own: its message is shown
    assert "HTTP 429: Rate limit reached for gpt-4o-mini) (1 item)" in warning
    assert "HTTP 503: The engine is overloaded) (1 item)" in warning
    assert len(at.session_state["evaluate_runs"][-1]["items"]) == 4
