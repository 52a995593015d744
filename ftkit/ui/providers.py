"""The one provider setting of a browser session: the sidebar, then the server's configuration.

Typed values live only in this browser session's ``st.session_state`` (keys ``openai_api_key``,
``openai_base_url``, ``azure_openai_endpoint``, ``azure_openai_api_key``,
``openai_api_version``); they are never written to disk, cached or shown. Nothing built from a
key is cached either: pages build a client per run with ``current_client``.

Together and Fireworks have one key each (``together_api_key``; ``fireworks_api_key`` with
``fireworks_account_id``), resolved by ``hosted_settings`` with the same rules: a typed key beats
the server's; in hosted mode the server's key is used only with ``allow_server_key = true``
(their endpoints are the providers' own, set by the operator only, never typed).

Precedence: a typed endpoint (base URL or Azure endpoint) replaces the server's endpoint as a
whole; otherwise the operator's (``st.secrets``, then the environment and ``.env``) applies,
else OpenAI's. A typed key beats the server's. Locally the server's key is the user's own. In
hosted mode it is used only with ``allow_server_key = true`` and only at the operator's own
endpoint; a typed different endpoint needs a typed key, and is checked by the endpoint guard
(``ftkit.endpoints``) before any request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import openai
import streamlit as st

from ftkit.endpoints import OPENAI_ENDPOINT, EndpointGuard, normalize_endpoint
from ftkit.errors import FtkitError, ProviderError
from ftkit.hosting import HostingConfig
from ftkit.providers import (
    HOSTED_KEY,
    HOSTED_SETTINGS,
    SETTING_NAMES,
    ProviderSettings,
    client_from_settings,
    env_hosted,
    env_settings,
    hosted_keys,
    resolve_settings,
)

__all__ = [
    "STATE_KEYS",
    "KeySource",
    "current_client",
    "current_settings",
    "endpoint_line",
    "endpoint_refusal",
    "hosted_settings",
    "key_field",
    "key_source",
    "missing_key",
    "render_provider_sidebar",
    "show_endpoint",
]

KeySource = Literal["session", "server", "none"]
STATE_KEYS: dict[str, str] = {name: name.lower() for name in SETTING_NAMES}
HOSTED_STATE: dict[str, str] = {
    "TOGETHER_API_KEY": "together_api_key",
    "FIREWORKS_API_KEY": "fireworks_api_key",
    "FIREWORKS_ACCOUNT_ID": "fireworks_account_id",
}
_SECRET_FIELDS = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "TOGETHER_API_KEY", "FIREWORKS_API_KEY")
_LABELS = {
    "OPENAI_API_KEY": "OpenAI API key",
    "OPENAI_BASE_URL": "Base URL (OpenAI-compatible endpoint)",
    "AZURE_OPENAI_ENDPOINT": "Azure OpenAI endpoint",
    "AZURE_OPENAI_API_KEY": "Azure OpenAI API key",
    "OPENAI_API_VERSION": "Azure API version",
    "TOGETHER_API_KEY": "Together API key",
    "FIREWORKS_API_KEY": "Fireworks API key",
    "FIREWORKS_ACCOUNT_ID": "Fireworks account id",
}


def _secrets(names: tuple[str, ...] = SETTING_NAMES) -> Mapping[str, object]:
    """Return the settings found in ``st.secrets`` (none when there is no secrets file)."""
    try:
        return {name: st.secrets[name] for name in names if name in st.secrets}
    except Exception:  # no secrets.toml, or an unreadable one: fall through to the environment
        return {}


def _typed() -> dict[str, object]:
    return {name: st.session_state.get(key) for name, key in STATE_KEYS.items()}


def _config() -> HostingConfig:
    """Return the hosting settings; a broken secrets file counts as hosted (fail closed)."""
    from ftkit.ui.auth import hosting_config

    try:
        return hosting_config()
    except FtkitError:
        return HostingConfig(hosted=True)


def _server() -> ProviderSettings:
    """Return the operator's settings: ``st.secrets``, then the environment and ``.env``."""
    return resolve_settings(_secrets(), env_settings())


def _operator_endpoint(server: ProviderSettings) -> str:
    """Return the endpoint the operator configured (OpenAI's when none is)."""
    return server.endpoint


def _endpoint_of(typed: ProviderSettings, server: ProviderSettings) -> dict[str, str | None]:
    """Return the endpoint fields: the typed endpoint as a whole when one is typed."""
    source = typed if typed.base_url or typed.azure_endpoint else server
    return {
        "base_url": source.base_url,
        "azure_endpoint": source.azure_endpoint,
        "api_version": typed.api_version or server.api_version,
    }


def _server_key_usable(config: HostingConfig, endpoint: str, server: ProviderSettings) -> bool:
    """Return True where the server's key may go to ``endpoint``."""
    if not config.hosted:
        return True
    at_home = normalize_endpoint(endpoint) == normalize_endpoint(_operator_endpoint(server))
    return config.allow_server_key and at_home


def _resolve(config: HostingConfig) -> tuple[ProviderSettings, KeySource]:
    typed = resolve_settings(_typed())
    server = _server()
    chosen = ProviderSettings(
        api_key=typed.api_key, azure_api_key=typed.azure_api_key, **_endpoint_of(typed, server)
    )
    if chosen.has_key:
        return chosen, "session"
    if _server_key_usable(config, chosen.endpoint, server):
        keys = {"api_key": server.api_key, "azure_api_key": server.azure_api_key}
        with_server = ProviderSettings(**keys, **_endpoint_of(typed, server))
        if with_server.has_key:
            return with_server, "server"
    return chosen, "none"


def current_settings() -> ProviderSettings:
    """Return this session's provider settings (see the module's precedence rules)."""
    return _resolve(_config())[0]


def hosted_settings(backend: str) -> tuple[dict[str, str], KeySource]:
    """Return Together's or Fireworks' settings for this session, and where the key is from.

    A typed key comes with the typed account id (else the server's); the server's key is used
    locally, and in hosted mode only with ``allow_server_key`` and only with the server's
    account id. Base URLs are the server's only.
    """
    names = HOSTED_SETTINGS[backend]
    typed_state = {name: st.session_state.get(HOSTED_STATE[name]) for name in HOSTED_STATE}
    typed = hosted_keys(backend, typed_state)
    server = hosted_keys(backend, _secrets(names), env_hosted())
    unkeyed = {name: value for name, value in server.items() if name != HOSTED_KEY[backend]}
    if typed.get(HOSTED_KEY[backend]):
        return {**unkeyed, **typed}, "session"
    config = _config()
    if server.get(HOSTED_KEY[backend]) and not config.hosted:
        return {**server, **typed}, "server"
    if server.get(HOSTED_KEY[backend]) and config.allow_server_key:
        return server, "server"  # the operator's key goes only with the operator's account
    return {**unkeyed, **typed}, "none"


def key_source() -> KeySource:
    """Return where this session's key comes from, for display (never the key itself)."""
    return _resolve(_config())[1]


def _guard(config: HostingConfig) -> EndpointGuard:
    """Return the hosted guard; the operator's endpoint and OpenAI's are trusted."""
    return EndpointGuard.build(
        config.allowed_endpoint_hosts,
        config.allow_private_endpoints,
        (_operator_endpoint(_server()), OPENAI_ENDPOINT),
    )


def current_client(settings: ProviderSettings) -> openai.OpenAI:
    """Return a fresh client for this run (never cached: it holds a key).

    Raises ``ProviderError`` (one line) without a key, or in hosted mode when the endpoint
    guard refuses the endpoint.
    """
    config = _config()
    guard = _guard(config) if config.hosted else None
    return client_from_settings(settings, guard=guard)


def endpoint_refusal(settings: ProviderSettings) -> str | None:
    """Return the endpoint guard's one-line refusal of ``settings`` (hosted mode), else None."""
    config = _config()
    if not config.hosted:
        return None
    field = "Azure OpenAI endpoint" if settings.kind == "azure" else "Base URL"
    try:
        _guard(config).check(settings.endpoint, field=field)
    except ProviderError as err:
        return str(err)
    return None


def missing_key(settings: ProviderSettings) -> str | None:
    """Return one line saying which key to set, or None when ``settings`` have one."""
    problem = settings.missing()
    config = _config()
    if problem is None or not config.hosted:
        return problem
    home = _operator_endpoint(_server())
    elsewhere = normalize_endpoint(settings.endpoint) != normalize_endpoint(home)
    if config.allow_server_key and elsewhere:
        return (
            f"type your own API key in the sidebar for {settings.endpoint}: the server's "
            f"key is only sent to {home}"
        )
    return "type your own API key in the sidebar (Provider and keys); it stays in this session"


def endpoint_line(settings: ProviderSettings, source: KeySource) -> str:
    """Return "Endpoint: <url> · key from ..." for the page's caption."""
    where = {
        "session": "key from this session",
        "server": "the server's key",
        "none": "no key yet",
    }[source]
    kind = " (Azure OpenAI)" if settings.kind == "azure" else ""
    return f"Endpoint: {settings.endpoint}{kind} · {where}"


def show_endpoint(settings: ProviderSettings | None = None) -> ProviderSettings:
    """Show the endpoint this page will call, and return the settings shown."""
    config = _config()
    resolved, source = _resolve(config)
    settings = settings or resolved
    st.caption(endpoint_line(settings, source), help="Change it under Provider and keys.")
    return settings


def _keep(name: str, where: str = "_input_") -> None:
    """Copy a widget's value into the plain session key that outlives the page."""
    key = STATE_KEYS.get(name) or HOSTED_STATE[name]
    st.session_state[key] = st.session_state.get(f"{where}{key}", "")


def render_provider_sidebar() -> None:
    """Draw the provider inputs in the sidebar; keys are password fields, kept per session."""
    with st.sidebar.expander("Provider and keys", expanded=False):
        st.caption(
            "Typed values stay in this browser session only and apply to every page "
            "that calls an API. Blank fields fall back to the server's settings (its key "
            "only where its operator allows)."
        )
        for name in _LABELS:
            key_field(name)


def key_field(name: str, *, where: str = "_input_") -> None:
    """Draw one provider setting's input (a password field for a key), kept per session."""
    key = STATE_KEYS.get(name) or HOSTED_STATE[name]
    st.text_input(
        _LABELS[name],
        value=st.session_state.get(key) or "",
        key=f"{where}{key}",
        type="password" if name in _SECRET_FIELDS else "default",
        on_change=_keep,
        args=(name, where),
        placeholder=name,
    )
