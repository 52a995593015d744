"""Hosted mode settings, the allow-list, per-user folders, and the shipped Streamlit config."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ftkit.errors import ConfigError
from ftkit.hosting import HostingConfig, output_dir_for, user_slug

ROOT = Path(__file__).resolve().parent.parent
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "c",
    "client_id": "id",
    "client_secret": "s",
    "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
}


def test_local_by_default() -> None:
    config = HostingConfig.from_mapping({}, env={})
    assert not config.hosted and not config.auth_configured
    assert config.allow_pickle
    assert config.is_allowed(None)
    assert config.output_dir_for("ana@example.com") == Path("out")
    assert config.max_upload_bytes == 200 * 1024 * 1024


def test_auth_section_turns_hosted_mode_on() -> None:
    secrets = {
        "auth": AUTH,
        "ftkit": {
            "allowed_emails": ["Ana@Example.com"],
            "allowed_domains": ["@team.example"],
            "max_upload_mb": 25,
            "output_dir": "/srv/ftkit",
        },
    }
    config = HostingConfig.from_mapping(secrets, env={})
    assert config.hosted and config.auth_configured
    assert not config.allow_pickle
    assert not config.allow_server_key
    assert config.max_upload_bytes == 25 * 1024 * 1024
    assert config.output_dir_for("ana@example.com").parent == Path("/srv/ftkit/users")


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("ana@example.com", True),
        ("ANA@EXAMPLE.COM", True),
        ("bo@example.com", False),
        ("cy@team.example", True),
        ("cy@evil-team.example", False),
        ("cy@sub.team.example", False),
        ("team.example@evil.com", False),
        ("ana@example.com@evil.com", False),
        ("", False),
        (None, False),
    ],
)
def test_allow_list(email: str | None, allowed: bool) -> None:
    config = HostingConfig.from_mapping(
        {"auth": AUTH, "ftkit": {"allowed_emails": ["ana@example.com"]}},
        env={"FTKIT_ALLOWED_DOMAINS": "team.example"},
    )
    assert config.is_allowed(email) is allowed


def test_an_empty_allow_list_lets_nobody_in() -> None:
    config = HostingConfig.from_mapping({"auth": AUTH}, env={})
    assert not config.has_allow_list
    assert not config.is_allowed("ana@example.com")


@pytest.mark.parametrize(
    ("secrets", "env"),
    [({}, {"FTKIT_HOSTED": "1"}), ({"hosted": True}, {}), ({"ftkit": {"hosted": "yes"}}, {})],
)
def test_hosted_without_auth(secrets: dict, env: dict) -> None:
    config = HostingConfig.from_mapping(secrets, env=env)
    assert config.hosted and not config.auth_configured
    assert not config.allow_pickle


@pytest.mark.parametrize(
    ("secrets", "env", "message"),
    [
        ({"ftkit": {"allow_server_key": "perhaps"}}, {}, "ftkit.allow_server_key: expected true"),
        ({"ftkit": {"max_upload_mb": "lots"}}, {}, "ftkit.max_upload_mb: expected a number"),
        ({"ftkit": {"max_upload_mb": 0}}, {}, "ftkit.max_upload_mb: expected 0 <"),
        ({"ftkit": {"allowed_emails": 5}}, {}, "ftkit.allowed_emails: expected a list"),
        ({"ftkit": "on"}, {}, r"\[ftkit\]: expected a table"),
        ({}, {"FTKIT_HOSTED": "maybe"}, "FTKIT_HOSTED: expected true or false"),
    ],
)
def test_malformed_settings_name_the_setting(secrets, env, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HostingConfig.from_mapping(secrets, env=env)


@pytest.mark.parametrize(
    "email", ["ana@example.com", "../../etc/passwd", "a/b@c.d", "..", "Ünïcode@例え.jp", " "]
)
def test_per_user_folders_stay_inside_the_base(email: str, tmp_path: Path) -> None:
    folder = output_dir_for(email, tmp_path).resolve()
    assert folder.parent == (tmp_path / "users").resolve()
    assert folder.name not in ("", ".", "..") and "/" not in folder.name


def test_user_slugs_do_not_collide() -> None:
    assert user_slug("a.b@x.com") != user_slug("a-b@x.com")
    assert user_slug("Ana@Example.com") == user_slug("ana@example.com")
    assert user_slug("ana@example.com").startswith("ana-example.com-")


def test_shipped_streamlit_config_is_safe_to_host() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["client"]["showErrorDetails"] in ("none", False)
    assert 0 < config["server"]["maxUploadSize"] <= 200
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"].get("enableCORS", True) is True


def test_requirements_pin_the_advisory_floors() -> None:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    for floor in (
        "streamlit>=1.54",
        "pyarrow>=14.0.1",
        "Authlib>=1.3.2",
        "SQLAlchemy>=2.0",
        "psycopg[binary]>=3.1",
    ):
        assert floor in lines


# ---- training on this computer (the Train page's "This computer (GPU)") -----------------------
@pytest.mark.parametrize(
    ("secrets", "env", "allowed"),
    [
        ({}, {}, True),  # locally it is always on
        ({"auth": AUTH}, {}, False),  # hosted: off unless the operator turns it on
        ({"auth": AUTH, "ftkit": {"local_training": True}}, {}, True),
        ({"auth": AUTH}, {"FTKIT_LOCAL_TRAINING": "1"}, True),
        ({}, {"FTKIT_HOSTED": "1"}, False),
        ({}, {"FTKIT_HOSTED": "1", "FTKIT_LOCAL_TRAINING": "yes"}, True),
    ],
    ids=["local", "hosted", "hosted-secret-on", "hosted-env-on", "proxy", "proxy-env-on"],
)
def test_local_training_is_off_in_hosted_mode_unless_enabled(
    secrets: dict, env: dict, allowed: bool
) -> None:
    assert HostingConfig.from_mapping(secrets, env=env).allow_local_training is allowed


@pytest.mark.parametrize(
    ("secrets", "env", "field"),
    [
        ({"ftkit": {"local_training": "maybe"}}, {}, "ftkit.local_training"),
        ({}, {"FTKIT_LOCAL_TRAINING": "sure"}, "FTKIT_LOCAL_TRAINING"),
    ],
    ids=["secret", "env"],
)
def test_a_malformed_local_training_switch_names_the_setting(
    secrets: dict, env: dict, field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        HostingConfig.from_mapping(secrets, env=env)
