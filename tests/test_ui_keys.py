"""Per-session keys: two AppTest sessions in one process each send their own key, and a
session without a key sends none, all against a loopback server that records what arrives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from streamlit.testing.v1 import AppTest

KEY_A = "sk-test-session-a-" + "a" * 24
KEY_B = "sk-test-session-b-" + "b" * 24
SERVER_KEY = "sk-test-server-" + "s" * 24


MODEL = {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "openai"}


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        body = json.dumps({"object": "list", "data": [MODEL]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[tuple[str, list[str | None]]]:
    seen: list[str | None] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


def _models_page(base_url: str, allow_server_key: bool) -> None:
    import streamlit as st

    from ftkit.errors import FtkitError
    from ftkit.hosting import HostingConfig
    from ftkit.ui.keys import key_input, key_source, openai_client

    config = HostingConfig(hosted=True, allow_server_key=allow_server_key)
    key_input()
    try:
        client = openai_client(config, base_url=base_url, max_retries=0)
    except FtkitError as err:
        st.info(str(err))
        st.stop()
    st.write(f"{len(client.models.list().data)} models with the {key_source(config)} key")


def _session(base_url: str, key: str | None, *, allow_server_key: bool = False) -> AppTest:
    at = AppTest.from_function(_models_page, args=(base_url, allow_server_key))
    at.run()
    if key:
        at.text_input(key="keys_api_key_input").input(key)
    return at


@pytest.fixture(autouse=True)
def _server_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_each_session_sends_its_own_key_and_a_keyless_one_sends_none(api) -> None:
    base_url, seen = api
    first, second, third = (
        _session(base_url, KEY_A),
        _session(base_url, KEY_B),
        _session(base_url, None),
    )
    assert seen == []  # no key yet in any session: nothing was sent on the first runs
    first.run()
    second.run()
    first.run()
    third.run()
    second.run()
    assert seen == [f"Bearer {KEY_A}", f"Bearer {KEY_B}", f"Bearer {KEY_A}", f"Bearer {KEY_B}"]
    assert "1 models with the session key" in first.markdown[0].value
    assert not third.markdown
    assert "none entered for this session" in third.info[0].value
    assert not (first.exception or second.exception or third.exception)
    state = "openai_api_key"
    assert (first.session_state[state], second.session_state[state]) == (KEY_A, KEY_B)
    assert third.session_state[state] is None


def test_the_server_key_is_used_only_where_the_deployer_allows_it(api) -> None:
    base_url, seen = api
    refused = _session(base_url, None, allow_server_key=False)
    assert seen == []
    allowed = _session(base_url, None, allow_server_key=True)
    assert seen == [f"Bearer {SERVER_KEY}"]
    own = _session(base_url, KEY_A, allow_server_key=True).run()
    assert seen[-1] == f"Bearer {KEY_A}"
    assert refused.info and "paste one" in refused.info[0].value
    assert "with the server key" in allowed.markdown[0].value
    assert "with the session key" in own.markdown[0].value


def test_clearing_the_field_forgets_the_key(api) -> None:
    base_url, seen = api
    at = _session(base_url, KEY_A).run()
    at.text_input(key="keys_api_key_input").input("").run()
    assert seen == [f"Bearer {KEY_A}"]
    assert at.info and "none entered" in at.info[0].value
