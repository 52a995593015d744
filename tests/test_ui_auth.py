"""The sign-in gate, driven through AppTest with a simulated ``st.user``."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "ftkit",
    "client_secret": "test-client-secret",
    "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
}
HOSTED = {
    "auth": AUTH,
    "ftkit": {"allowed_emails": ["ana@example.com"], "allowed_domains": ["team.example"]},
}


def _gated_app() -> None:
    import streamlit as st

    from ftkit.ui.auth import hosting_config, require_login, show_account

    config = hosting_config()
    email = require_login(config)
    show_account(email, config)
    st.title("Dashboard")
    st.write(f"Working as {email or 'the local user'}")


@pytest.fixture(autouse=True)
def _no_hosting_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FTKIT_HOSTED", "FTKIT_ALLOWED_EMAILS", "FTKIT_ALLOWED_DOMAINS"):
        monkeypatch.delenv(name, raising=False)


def _run(secrets: dict, user: dict | None) -> AppTest:
    at = AppTest.from_function(_gated_app, default_timeout=30)
    at.secrets = secrets
    if user is not None:
        at.user = user
    return at.run()


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.markdown, *at.error, *at.caption)]
    parts += [b.label for b in at.button]
    return " | ".join(str(p) for p in parts)


@pytest.mark.parametrize(
    "user", [{"is_logged_in": False}, None, {"email": "ana@example.com"}], ids=str
)
def test_unauthenticated_visitors_see_only_the_sign_in(user: dict | None) -> None:
    at = _run(HOSTED, user)
    assert not at.exception
    assert [t.value for t in at.title] == ["ftkit"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Dashboard" not in _texts(at)
    assert "ana@example.com" not in _texts(at)
    assert not at.sidebar.caption


@pytest.mark.parametrize("email", ["ana@example.com", "cy@team.example"])
def test_allowed_users_get_in(email: str) -> None:
    at = _run(HOSTED, {"is_logged_in": True, "email": email, "email_verified": True})
    assert not at.exception
    assert [t.value for t in at.title] == ["Dashboard"]
    assert at.sidebar.caption[0].value == f"Signed in as {email}"
    assert at.button(key="auth_logout").label == "Log out"


@pytest.mark.parametrize(
    "user",
    [
        {"is_logged_in": True, "email": "mallory@evil.example"},
        {"is_logged_in": True, "email": "ana@example.com", "email_verified": False},
        {"is_logged_in": True, "email": "cy@notteam.example"},
        {"is_logged_in": True},
    ],
    ids=str,
)
def test_users_off_the_allow_list_are_refused(user: dict) -> None:
    at = _run(HOSTED, user)
    assert not at.exception
    assert "Dashboard" not in _texts(at)
    assert len(at.error) == 1
    assert "is not allowed on this ftkit server" in at.error[0].value
    assert [b.label for b in at.button] == ["Log out"]


def test_a_refused_user_can_log_out_and_sees_the_sign_in_again() -> None:
    at = _run(HOSTED, {"is_logged_in": True, "email": "mallory@evil.example"})
    at.button(key="auth_logout_refused").click().run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Dashboard" not in _texts(at)


def test_an_empty_allow_list_refuses_everyone_and_says_why() -> None:
    at = _run({"auth": AUTH}, {"is_logged_in": True, "email": "ana@example.com"})
    assert "is not allowed" in at.error[0].value
    assert "allowed_emails or allowed_domains" in _texts(at)


def test_named_providers_get_one_button_each() -> None:
    auth = {
        "redirect_uri": AUTH["redirect_uri"],
        "cookie_secret": "c",
        "google": {"client_id": "g"},
        "microsoft": {"client_id": "m"},
    }
    secrets = {**HOSTED, "auth": auth}
    at = _run(secrets, {"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Microsoft"]


def test_without_auth_it_is_local_single_user_mode() -> None:
    at = _run({"ftkit": {}}, None)
    assert not at.exception
    assert [t.value for t in at.title] == ["Dashboard"]
    assert "Local single-user mode" in at.sidebar.caption[0].value
    assert "Working as the local user" in _texts(at)
