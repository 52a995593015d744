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
