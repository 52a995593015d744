"""Per-session keys and the server's key, against loopback servers that record what arrives.

Two AppTest sessions in one process each send their own key; a session without one sends none;
the server's key goes only to the operator's endpoint, never to a typed other one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from streamlit.testing.v1 import AppTest

KEY_A = "sk-test-session-a-" + "a" * 24
KEY_B = "sk-test-session-b-" + "b" * 24
SERVER_KEY = "sk-test-server-" + "s" * 24
MODEL = {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "openai"}
Server = tuple[str, list[str | None]]


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
def start() -> Iterator[Callable[[], Server]]:
    servers: list[ThreadingHTTPServer] = []

    def start_one() -> Server:
        seen: list[str | None] = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), type("R", (_Recorder,), {"seen": seen}))
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1", seen

    yield start_one
    for server in servers:
        server.shutdown()
        server.server_close()


def _models_page() -> None:
    import streamlit as st

    from ftkit.errors import FtkitError
    from ftkit.ui.providers import (
        current_client,
        current_settings,
        key_source,
        missing_key,
        render_provider_sidebar,
        show_endpoint,
    )

    render_provider_sidebar()
    settings = show_endpoint(current_settings())
    if (problem := missing_key(settings)) is not None:
        st.info(problem)
        st.stop()
    try:
        client = current_client(settings).with_options(max_retries=0)  # fail fast offline
        count = len(client.models.list().data)
    except FtkitError as err:
        st.error(str(err))
        st.stop()
    st.write(f"{count} models with the {key_source()} key")


def _session(*, key: str | None = None, url: str | None = None, secrets: dict | None = None):
    at = AppTest.from_function(_models_page, default_timeout=30)
    if secrets is not None:
        at.secrets = secrets
    at.run()
    if url:
        at.text_input(key="_input_openai_base_url").input(url)
    if key:
        at.text_input(key="_input_openai_api_key").input(key)
    return at.run() if (url or key) else at


@pytest.fixture(autouse=True)
def _server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    for name in (
        "OPENAI_BASE_URL",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "FTKIT_HOSTED",
    ):
        monkeypatch.delenv(name, raising=False)


def _hosted(monkeypatch: pytest.MonkeyPatch, operator_url: str, **ftkit: object) -> dict:
    monkeypatch.setenv("FTKIT_HOSTED", "1")
    monkeypatch.setenv("OPENAI_BASE_URL", operator_url)
    return {"ftkit": {"allowed_endpoint_hosts": ["127.0.0.1"], **ftkit}}


def test_each_session_sends_its_own_key_and_a_keyless_one_sends_none(start, monkeypatch) -> None:
    url, seen = start()
    secrets = _hosted(monkeypatch, url)
    first = _session(key=KEY_A, secrets=secrets)
    second = _session(key=KEY_B, secrets=secrets)
    third = _session(secrets=secrets)
    first.run()
    third.run()
    second.run()
    assert seen == [f"Bearer {KEY_A}", f"Bearer {KEY_B}", f"Bearer {KEY_A}", f"Bearer {KEY_B}"]
    assert "1 models with the session key" in first.markdown[0].value
    assert not third.markdown and "type your own API key" in third.info[0].value
    assert not (first.exception or second.exception or third.exception)
    assert (first.session_state["openai_api_key"], second.session_state["openai_api_key"]) == (
        KEY_A,
        KEY_B,
    )


def test_the_server_key_is_used_only_where_the_operator_allows_it(start, monkeypatch) -> None:
    url, seen = start()
    refused = _session(secrets=_hosted(monkeypatch, url, allow_server_key=False))
    assert seen == [] and "type your own API key" in refused.info[0].value
    allowed = _session(secrets=_hosted(monkeypatch, url, allow_server_key=True))
    assert seen == [f"Bearer {SERVER_KEY}"]
    assert "with the server key" in allowed.markdown[0].value
    assert allowed.main.caption[0].value == f"Endpoint: {url} · the server's key"


def test_a_typed_other_endpoint_never_receives_the_server_key(start, monkeypatch) -> None:
    operator_url, operator_seen = start()
    typed_url, typed_seen = start()
    secrets = _hosted(monkeypatch, operator_url, allow_server_key=True)
    at = _session(url=typed_url, secrets=secrets)
    assert operator_seen == [f"Bearer {SERVER_KEY}"]  # the first run, before the URL was typed
    assert typed_seen == []
    assert f"for {typed_url}: the server's key is only sent to {operator_url}" in at.info[0].value
    at.text_input(key="_input_openai_api_key").input(KEY_A).run()
    assert typed_seen == [f"Bearer {KEY_A}"] and len(operator_seen) == 1
    assert at.main.caption[0].value == f"Endpoint: {typed_url} · key from this session"


def test_locally_the_servers_key_is_the_users_own(start) -> None:
    url, seen = start()
    _session(url=url)
    assert seen == [f"Bearer {SERVER_KEY}"]


def test_a_hosted_session_cannot_reach_the_metadata_address(start, monkeypatch) -> None:
    url, _ = start()
    at = _session(key=KEY_A, url="http://169.254.169.254/v1", secrets=_hosted(monkeypatch, url))
    assert not at.exception
    assert at.error[0].value.startswith("Base URL: 169.254.169.254 is a link-local address")


def test_clearing_the_field_forgets_the_key(start, monkeypatch) -> None:
    url, seen = start()
    at = _session(key=KEY_A, secrets=_hosted(monkeypatch, url))
    at.text_input(key="_input_openai_api_key").input("").run()
    assert seen == [f"Bearer {KEY_A}"]
    assert at.info and "type your own API key" in at.info[0].value
