"""The sign-in gate: ``st.login`` (OpenID Connect) plus ftkit's allow-list.

The router calls ``require_login(hosting_config())`` before anything else renders.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from ftkit.errors import ConfigError
from ftkit.hosting import HostingConfig

__all__ = [
    "USER_STATE",
    "hosting_config",
    "read_secrets",
    "require_login",
    "session_owner",
    "show_account",
    "signed_in_email",
    "signed_in_user",
]

USER_STATE = "auth_email"
SESSION_TOKEN_STATE = "auth_session_token"


def read_secrets() -> dict[str, Any]:
    """Return ``st.secrets`` as a dict: empty without a secrets file, an error for a broken one.

    A secrets file that exists but cannot be parsed raises ``ConfigError`` rather than
    quietly falling back to local mode, which would open a hosted dashboard to everyone.
    """
    try:
        return st.secrets.to_dict()
    except StreamlitSecretNotFoundError as err:
        if getattr(err, "error_id", None) == "no-secrets-found":
            return {}
        raise ConfigError(f"secrets.toml: cannot be read ({err})") from None


def hosting_config() -> HostingConfig:
    """Return the hosting settings from secrets and the environment."""
    return HostingConfig.from_mapping(read_secrets())


def _providers(secrets: Mapping[str, Any]) -> list[str | None]:
    auth = secrets.get("auth") or {}
    named = [name for name, value in auth.items() if isinstance(value, Mapping)]
    return [*named] if named and "client_id" not in auth else [None]


def _sign_in_screen() -> None:
    st.title("ftkit")
    st.write("Sign in to use this team's fine-tuning dashboard.")
    for provider in _providers(read_secrets()):
        label = f"Sign in with {provider.title()}" if provider else "Sign in"
        st.button(
            label,
            key=f"auth_login_{provider or 'default'}",
            type="primary",
            on_click=st.login,
            args=(provider,) if provider else (),
        )


def _refuse(email: str, config: HostingConfig) -> None:
    who = email or "This account"
    st.error(
        f"{who} is not allowed on this ftkit server. Ask its administrator to add you, "
        "or sign in with another account."
    )
    if not config.has_allow_list:
        st.caption(
            "No one is allowed yet: the administrator sets allowed_emails or allowed_domains "
            "under [ftkit] in secrets.toml."
        )
    st.button("Log out", key="auth_logout_refused", on_click=st.logout)


def require_login(config: HostingConfig) -> str | None:
    """Return the signed-in user's email, or None in local single-user mode (no ``[auth]``).

    With auth configured, a visitor who is not signed in sees only the sign-in screen, and a
    user not on the allow-list (or whose email is unverified) sees only a refusal and a
    log-out button: both end the script run with ``st.stop()``.
    """
    if not config.auth_configured:
        return None
    user = st.user.to_dict()
    if not user.get("is_logged_in"):
        _sign_in_screen()
        st.stop()
    email = str(user.get("email") or "").strip()
    if user.get("email_verified") is False or not config.is_allowed(email):
        _refuse(email, config)
        st.stop()
    st.session_state[USER_STATE] = email
    return email


def signed_in_email(config: HostingConfig) -> str | None:
    """Return the email ``require_login`` verified for this run; None without sign-in configured.

    Without ``[auth]`` nobody is signed in, whatever this session's state holds.
    """
    email = st.session_state.get(USER_STATE) if config.auth_configured else None
    return str(email) if email else None


def signed_in_user(config: HostingConfig) -> str:
    """Return who to record runs as: the signed-in email, else the local user name."""
    from ftkit.history.recording import current_user

    email = signed_in_email(config)
    if email:
        return str(email)
    return "anonymous" if config.hosted else current_user()


def session_owner(config: HostingConfig) -> str:
    """Return who owns this session's work: the signed-in email, else one id per browser session.

    In hosted mode without sign-in, every browser session gets its own random id
    (``session-<hex>``), so one visitor's runs and files are never another's. In local mode the
    owner is the local user name, as the CLI records it.
    """
    email = signed_in_email(config)
    if email:
        return email
    if not config.hosted:
        from ftkit.history.recording import current_user

        return current_user()
    token = st.session_state.get(SESSION_TOKEN_STATE)
    if not token:
        token = st.session_state[SESSION_TOKEN_STATE] = f"session-{secrets.token_hex(8)}"
    return str(token)


def show_account(email: str | None, config: HostingConfig) -> None:
    """Show who is signed in (with a log-out button), or that this is local single-user mode."""
    if email:
        st.sidebar.caption(f"Signed in as {email}")
        st.sidebar.button("Log out", key="auth_logout", on_click=st.logout)
    if config.hosted:
        st.sidebar.caption(":material/cloud: Hosted mode: local file paths and pickles are off.")
    elif not email:
        st.sidebar.caption(
            ":material/computer: Local single-user mode: no sign-in is configured; "
            "files on this computer can be loaded."
        )
