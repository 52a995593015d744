"""The dashboard's provider settings: typed keys per session; the server's only where allowed."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

SCRIPT = """
import streamlit as st
from ftkit.ui.providers import current_settings
settings = current_settings()
st.text(f"key={settings.api_key}")
"""


@pytest.mark.parametrize(
    ("hosted", "typed", "expected"),
    [
        ("", None, "key=sk-server"),  # local: the environment's key is the user's own
        ("1", None, "key=None"),  # hosted: the server's key stays on the server
        ("1", "sk-typed", "key=sk-typed"),  # hosted: a typed key is used for this session
        ("", "sk-typed", "key=sk-typed"),  # typed beats the environment
    ],
)
def test_server_key_only_where_allowed(
    monkeypatch: pytest.MonkeyPatch, hosted: str, typed: str | None, expected: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server")
    monkeypatch.setenv("FTKIT_HOSTED", hosted)
    at = AppTest.from_string(SCRIPT)
    if typed:
        at.session_state["openai_api_key"] = typed
    at.run()
    assert not at.exception
    assert at.text[0].value == expected


PAGE = """
import streamlit as st
from ftkit.ui.providers import current_settings, endpoint_refusal, key_source, missing_key
settings = current_settings()
st.text(f"{settings.endpoint} {key_source()} {missing_key(settings)} {endpoint_refusal(settings)}")
"""


@pytest.mark.parametrize(
    ("allow", "typed_url", "expected"),
    [
        (True, None, "https://op.example/v1 server None None"),  # the operator's endpoint
        (True, "https://other.example/v1", "https://other.example/v1 none type your own"),
        (False, None, "https://op.example/v1 none type your own"),
    ],
)
def test_hosted_server_key_goes_only_to_the_operators_endpoint(
    monkeypatch: pytest.MonkeyPatch, allow: bool, typed_url: str | None, expected: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://op.example/v1")
    monkeypatch.setenv("FTKIT_HOSTED", "1")
    at = AppTest.from_string(PAGE)
    at.secrets = {"ftkit": {"allow_server_key": allow}}
    if typed_url:
        at.session_state["openai_base_url"] = typed_url
    at.run()
    assert not at.exception
    assert at.text[0].value.startswith(expected)


def test_a_typed_endpoint_replaces_the_servers_azure_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://team.openai.azure.com")
    monkeypatch.delenv("FTKIT_HOSTED", raising=False)
    at = AppTest.from_string(PAGE)
    at.session_state["openai_base_url"] = "http://localhost:11434/v1"
    at.session_state["openai_api_key"] = "sk-typed"
    at.run()
    assert at.text[0].value.startswith("http://localhost:11434/v1 session None None")


def test_a_hosted_internal_endpoint_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FTKIT_HOSTED", "1")
    at = AppTest.from_string(PAGE)
    at.session_state["openai_base_url"] = "http://10.0.0.5/v1"
    at.run()
    assert "Base URL: 10.0.0.5 is a private address" in at.text[0].value
