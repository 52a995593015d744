"""Find the OpenAI API key for this browser session: typed in the UI, else the server's.

A typed key lives only in this session's ``st.session_state``. The server-wide key
(``OPENAI_API_KEY`` from secrets, the environment or ``.env``) is used in local mode, and in
hosted mode only when the deployer sets ``allow_server_key = true``. Clients are built fresh on
every call with the key passed explicitly, so the SDK never falls back to the environment, and
nothing built from a key is cached across sessions (no ``st.cache_resource``).
"""

from __future__ import annotations

from typing import Any, Literal

import openai
import streamlit as st

from ftkit.clients import read_setting
from ftkit.errors import CredentialsError
from ftkit.history.redact import redact
from ftkit.hosting import HostingConfig

__all__ = [
    "API_KEY_STATE",
    "KEY_STATE",
    "KeySource",
    "api_key",
    "find_api_key",
    "key_input",
    "key_source",
    "openai_client",
    "scrub",
    "server_key",
]

API_KEY_STATE = "openai_api_key"
KEY_STATE = API_KEY_STATE
_INPUT = "keys_api_key_input"
_SECRET = "OPENAI_API_KEY"
KeySource = Literal["session", "server", "none"]


def _store_typed_key() -> None:
    typed = str(st.session_state.get(_INPUT) or "").strip()
    st.session_state[API_KEY_STATE] = typed or None


def key_input(label: str = "OpenAI API key", *, container: Any = None) -> None:
    """Render a password field whose value is kept for this browser session only."""
    st.session_state.setdefault(API_KEY_STATE, None)
    (container or st).text_input(
        label, type="password", key=_INPUT, on_change=_store_typed_key,
        help="Kept only in this browser session; never saved, logged or shared.",
    )  # fmt: skip


def _secret() -> str | None:
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        value = st.secrets.get(_SECRET)
    except Exception:  # a malformed secrets.toml is the same as none here
        return None
    return value.strip() if isinstance(value, str) and value.strip() else None


def server_key() -> str | None:
    """Return the deployment's key from secrets, else the environment or ``.env``."""
    return _secret() or read_setting(_SECRET)


def _config() -> HostingConfig:
    from ftkit.ui.auth import hosting_config

    return hosting_config()


def _resolve(config: HostingConfig | None) -> tuple[KeySource, str | None]:
    typed = st.session_state.get(API_KEY_STATE)
    if isinstance(typed, str) and typed.strip():
        return "session", typed.strip()
    config = config or _config()
    if not config.hosted or config.allow_server_key:
        key = server_key()
        if key:
            return "server", key
    return "none", None


def find_api_key(config: HostingConfig | None = None) -> str | None:
    """Return this session's key: the typed one, else the server's where allowed, else None.

    ``config`` defaults to the deployment's hosting settings (secrets and environment).
    """
    return _resolve(config)[1]


def api_key(config: HostingConfig | None = None) -> str | None:
    """Return this session's key (the same as ``find_api_key``)."""
    return find_api_key(config)


def key_source(config: HostingConfig | None = None) -> KeySource:
    """Return where this session's key comes from, for display (never the key itself)."""
    return _resolve(config)[0]


def openai_client(
    config: HostingConfig | None = None, *, base_url: str | None = None, **options: Any
) -> openai.OpenAI:
    """Return a new client carrying this session's key; raise ``CredentialsError`` without one."""
    config = config or _config()
    key = find_api_key(config)
    if not key:
        hint = "" if config.hosted and not config.allow_server_key else " or set OPENAI_API_KEY"
        raise CredentialsError(f"OpenAI API key: none entered for this session; paste one{hint}")
    url = base_url or read_setting("OPENAI_BASE_URL")
    return openai.OpenAI(api_key=key, base_url=url, **options)


def scrub(text: str) -> str:
    """Return ``text`` with anything that looks like a key blanked, for showing an error."""
    return str(redact(text))
