"""Per-session OpenAI keys: a typed key lives only in this browser session's state.

The server-wide key (``OPENAI_API_KEY`` from secrets or the environment) is used in local mode,
and in hosted mode only when the deployer sets ``allow_server_key = true``. Clients are built
fresh on every call with the key passed explicitly, so the SDK never falls back to the
environment, and nothing built from a key is cached across sessions.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import openai
import streamlit as st

from ftkit.errors import ConfigError
from ftkit.history.redact import redact
from ftkit.hosting import HostingConfig

__all__ = [
    "KEY_STATE",
    "KeySource",
    "api_key",
    "key_input",
    "key_source",
    "openai_client",
    "scrub",
    "server_key",
]

KEY_STATE = "keys_session_api_key"
_INPUT = "keys_api_key_input"
KeySource = Literal["session", "server", "none"]


def _store_typed_key() -> None:
    typed = str(st.session_state.get(_INPUT) or "").strip()
    st.session_state[KEY_STATE] = typed or None


def key_input(label: str = "OpenAI API key", *, container: Any = None) -> None:
    """Render a password field whose value is kept for this browser session only."""
    st.session_state.setdefault(KEY_STATE, None)
    (container or st).text_input(
        label, type="password", key=_INPUT, on_change=_store_typed_key,
        help="Kept only in this browser session; never saved, logged or shared.",
    )  # fmt: skip


def server_key() -> str | None:
    """Return the deployment's key from secrets or the environment, if any."""
    try:
        value = st.secrets.get("OPENAI_API_KEY")
    except FileNotFoundError:
        value = None
    text = str(value or os.environ.get("OPENAI_API_KEY") or "").strip()
    return text or None


def _resolve(config: HostingConfig) -> tuple[KeySource, str | None]:
    typed = st.session_state.get(KEY_STATE)
    if typed:
        return "session", str(typed)
    if not config.hosted or config.allow_server_key:
        key = server_key()
        if key:
            return "server", key
    return "none", None


def api_key(config: HostingConfig) -> str | None:
    """Return this session's key: the typed one, else the server's where allowed, else None."""
    return _resolve(config)[1]


def key_source(config: HostingConfig) -> KeySource:
    """Return where this session's key comes from, for display (never the key itself)."""
    return _resolve(config)[0]


def openai_client(
    config: HostingConfig, *, base_url: str | None = None, **options: Any
) -> openai.OpenAI:
    """Return a new client carrying this session's key; raise ``ConfigError`` without one."""
    key = api_key(config)
    if not key:
        hint = "" if config.hosted and not config.allow_server_key else " or set OPENAI_API_KEY"
        raise ConfigError(f"OpenAI API key: none entered for this session; paste one{hint}")
    return openai.OpenAI(api_key=key, base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
                         **options)  # fmt: skip


def scrub(text: str) -> str:
    """Return ``text`` with anything that looks like a key blanked, for showing an error."""
    return str(redact(text))
