"""Provider settings in the dashboard: sidebar-typed keys, then ``st.secrets``, then the env.

Typed values live only in this browser session's ``st.session_state`` (keys ``openai_api_key``,
``openai_base_url``, ``azure_openai_endpoint``, ``azure_openai_api_key``,
``openai_api_version``); they are never written to disk, cached or shown. Nothing built from a
key is cached either: pages build a client per run with ``current_client``.
"""

from __future__ import annotations

from collections.abc import Mapping

import openai
import streamlit as st

from ftkit.errors import FtkitError
from ftkit.providers import (
    SETTING_NAMES,
    ProviderSettings,
    client_from_settings,
    env_settings,
    resolve_settings,
)

__all__ = ["STATE_KEYS", "current_client", "current_settings", "render_provider_sidebar"]

STATE_KEYS: dict[str, str] = {name: name.lower() for name in SETTING_NAMES}
_SECRET_FIELDS = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")


def _secrets() -> Mapping[str, object]:
    """Return the settings found in ``st.secrets`` (none when there is no secrets file)."""
    try:
        return {name: st.secrets[name] for name in SETTING_NAMES if name in st.secrets}
    except Exception:  # no secrets.toml, or an unreadable one: fall through to the environment
        return {}


def _typed() -> dict[str, object]:
    return {name: st.session_state.get(key) for name, key in STATE_KEYS.items()}


def _server_values_allowed() -> bool:
    """Return True unless a hosted deployer kept the server's own keys to itself."""
    from ftkit.ui.auth import hosting_config

    try:
        config = hosting_config()
    except FtkitError:
        return False
    return not config.hosted or config.allow_server_key


def current_settings() -> ProviderSettings:
    """Return the settings: sidebar (this session) > ``st.secrets`` > environment and ``.env``.

    In hosted mode the server's secrets and environment count only where the deployer set
    ``allow_server_key``; otherwise each user brings their own key.
    """
    if not _server_values_allowed():
        return resolve_settings(_typed(), {}, {})
    return resolve_settings(_typed(), _secrets(), env_settings())


def current_client(settings: ProviderSettings) -> openai.OpenAI:
    """Return a fresh client for this run (never cached: it holds a key)."""
    return client_from_settings(settings)


def _keep(name: str) -> None:
    """Copy a sidebar widget's value into the plain session key that outlives the page."""
    st.session_state[STATE_KEYS[name]] = st.session_state.get(f"_input_{STATE_KEYS[name]}", "")


def render_provider_sidebar() -> None:
    """Draw the provider inputs in the sidebar; keys are password fields, kept per session."""
    with st.sidebar.expander("Provider and keys", expanded=False):
        st.caption("Typed values stay in this browser session only. Blank fields fall back to "
                   "st.secrets, then the environment and .env.")  # fmt: skip
        labels = {
            "OPENAI_API_KEY": "OpenAI API key",
            "OPENAI_BASE_URL": "Base URL (OpenAI-compatible endpoint)",
            "AZURE_OPENAI_ENDPOINT": "Azure OpenAI endpoint",
            "AZURE_OPENAI_API_KEY": "Azure OpenAI API key",
            "OPENAI_API_VERSION": "Azure API version",
        }
        for name, label in labels.items():
            key = STATE_KEYS[name]
            st.text_input(
                label, value=st.session_state.get(key) or "", key=f"_input_{key}",
                type="password" if name in _SECRET_FIELDS else "default",
                on_change=_keep, args=(name,), placeholder=name,
            )  # fmt: skip
