"""Find the OpenAI API key for the dashboard: typed in the sidebar, else secrets, else env.

Nothing built from a key is ever cached: each run makes its own client.
"""

from __future__ import annotations

import streamlit as st

from ftkit.clients import read_setting

__all__ = ["API_KEY_STATE", "find_api_key"]

API_KEY_STATE = "openai_api_key"
_SECRET = "OPENAI_API_KEY"


def _secret() -> str | None:
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        value = st.secrets.get(_SECRET)
    except Exception:  # a malformed secrets.toml is the same as none here
        return None
    return value.strip() if isinstance(value, str) and value.strip() else None


def find_api_key() -> str | None:
    """Return the key typed in the sidebar, else ``st.secrets``, else the environment/.env."""
    typed = st.session_state.get(API_KEY_STATE)
    if isinstance(typed, str) and typed.strip():
        return typed.strip()
    return _secret() or read_setting(_SECRET)
