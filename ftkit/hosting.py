"""Hosted mode: who may sign in, which server key may be used, upload limits, per-user folders.

Settings come from ``.streamlit/secrets.toml`` (passed in as a mapping) and the environment::

    [auth]                      # any [auth] section turns hosted mode on (st.login's settings)
    [ftkit]
    allowed_emails = ["ana@example.com"]
    allowed_domains = ["example.com"]
    allow_server_key = false    # may signed-in users use the server's key (at its own endpoint)?
    allowed_endpoint_hosts = ["10.0.0.5", "llm.internal:8000"]  # typed endpoints allowed anyway
    allow_private_endpoints = false  # may users type private or loopback endpoints?
    max_upload_mb = 50          # an upload as sent (compressed, for a .gz)
    max_decompressed_mb = 256   # what an upload's data may inflate to
    max_rows = 500000           # the rows an upload may hold
    output_dir = "out"
    history_visibility = "own"  # "team": signed-in users also see each other's runs on History
    local_training = false      # may signed-in users train on this server's GPU (Train page)?

``FTKIT_HOSTED=1`` turns hosted mode on without auth (behind a proxy that authenticates);
``FTKIT_ALLOWED_EMAILS`` / ``FTKIT_ALLOWED_DOMAINS`` (comma-separated) extend the allow-lists;
``FTKIT_LOCAL_TRAINING=1`` turns ``local_training`` on.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ftkit.errors import ConfigError
from ftkit.sources.tables import (
    DEFAULT_MAX_CELLS,
    DEFAULT_MAX_DECOMPRESSED_MB,
    DEFAULT_MAX_ROWS,
    ReadLimits,
)

__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "HOSTED_ENV",
    "LOCAL_TRAINING_ENV",
    "LOCAL_TRAINING_OFF",
    "HistoryVisibility",
    "HostingConfig",
    "output_dir_for",
    "user_slug",
]

HOSTED_ENV = "FTKIT_HOSTED"
LOCAL_TRAINING_ENV = "FTKIT_LOCAL_TRAINING"
LOCAL_TRAINING_OFF = (
    "Training on this computer is off on this hosted dashboard: its operator can turn it on "
    "with local_training = true under [ftkit] in secrets.toml, or FTKIT_LOCAL_TRAINING=1"
)
DEFAULT_MAX_UPLOAD_MB = 200  # the same as .streamlit/config.toml's server.maxUploadSize
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
HistoryVisibility = Literal["own", "team"]


def _flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ConfigError(f"{field}: expected true or false, got {value!r}")


def _names(value: Any, field: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{field}: expected a list of strings, got {type(value).__name__}")
    return frozenset(str(v).strip().lower().lstrip("@") for v in value if str(v).strip())


def _rows(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{field}: expected a whole number of rows, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{field}: expected a whole number of rows, got {value!r}") from None
    if not 0 < number <= 100_000_000:
        raise ConfigError(f"{field}: expected 0 < rows <= 100000000, got {value!r}")
    return number


def _visibility(value: Any, field: str) -> HistoryVisibility:
    text = str(value).strip().lower()
    if text == "own":
        return "own"
    if text == "team":
        return "team"
    raise ConfigError(f'{field}: expected "own" or "team", got {value!r}')


def _megabytes(value: Any, field: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field}: expected a number of megabytes, got {value!r}") from None
    if not 0 < number <= 10_000:
        raise ConfigError(f"{field}: expected 0 < megabytes <= 10000, got {value!r}")
    return int(number * 1024 * 1024)


@dataclass(frozen=True)
class HostingConfig:
    """The deployment's hosting settings; never holds a key."""

    hosted: bool = False
    auth_configured: bool = False
    allowed_emails: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    allow_server_key: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_MB * 1024 * 1024
    max_rows: int = DEFAULT_MAX_ROWS
    output_base: Path = Path("out")
    history_visibility: HistoryVisibility = "own"
    allowed_endpoint_hosts: frozenset[str] = frozenset()
    allow_private_endpoints: bool = False
    local_training: bool = False

    @classmethod
    def from_mapping(
        cls, secrets: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> HostingConfig:
        """Build the config from secrets (``[auth]``, ``[ftkit]``) and the environment.

        Raises ``ConfigError`` naming the setting when one has the wrong type.
        """
        secrets = secrets or {}
        env = os.environ if env is None else env
        auth = secrets.get("auth")
        auth_configured = isinstance(auth, Mapping) and bool(auth)
        section = secrets.get("ftkit") or {}
        if not isinstance(section, Mapping):
            raise ConfigError("[ftkit]: expected a table of settings in secrets.toml")
        hosted = auth_configured or _flag(env.get(HOSTED_ENV, ""), HOSTED_ENV)
        if "hosted" in section:
            hosted = hosted or _flag(section["hosted"], "ftkit.hosted")
        if "hosted" in secrets:  # the dashboard's top-level switch (ftkit.ui.state.is_hosted)
            hosted = hosted or _flag(secrets["hosted"], "hosted")
        return cls(
            hosted=hosted,
            auth_configured=auth_configured,
            allowed_emails=_names(section.get("allowed_emails"), "ftkit.allowed_emails")
            | _names(env.get("FTKIT_ALLOWED_EMAILS"), "FTKIT_ALLOWED_EMAILS"),
            allowed_domains=_names(section.get("allowed_domains"), "ftkit.allowed_domains")
            | _names(env.get("FTKIT_ALLOWED_DOMAINS"), "FTKIT_ALLOWED_DOMAINS"),
            allow_server_key=_flag(
                section.get("allow_server_key", False), "ftkit.allow_server_key"
            ),
            max_upload_bytes=_megabytes(
                section.get("max_upload_mb", DEFAULT_MAX_UPLOAD_MB), "ftkit.max_upload_mb"
            ),
            max_decompressed_bytes=_megabytes(
                section.get("max_decompressed_mb", DEFAULT_MAX_DECOMPRESSED_MB),
                "ftkit.max_decompressed_mb",
            ),
            max_rows=_rows(section.get("max_rows", DEFAULT_MAX_ROWS), "ftkit.max_rows"),
            output_base=Path(str(section.get("output_dir", "out"))),
            history_visibility=_visibility(
                section.get("history_visibility", "own"), "ftkit.history_visibility"
            ),
            allowed_endpoint_hosts=_names(
                section.get("allowed_endpoint_hosts"), "ftkit.allowed_endpoint_hosts"
            ),
            allow_private_endpoints=_flag(
                section.get("allow_private_endpoints", False), "ftkit.allow_private_endpoints"
            ),
            local_training=_flag(section.get("local_training", False), "ftkit.local_training")
            or _flag(env.get(LOCAL_TRAINING_ENV, ""), LOCAL_TRAINING_ENV),
        )

    @property
    def read_limits(self) -> ReadLimits:
        """Return the bounds on an upload's decompressed bytes, rows and cells."""
        return ReadLimits(self.max_decompressed_bytes, self.max_rows, DEFAULT_MAX_CELLS)

    @property
    def allow_pickle(self) -> bool:
        """Return False in hosted mode: pickle sources can run code on the server."""
        return not self.hosted

    @property
    def allow_local_training(self) -> bool:
        """Return True where the dashboard may train on this server: locally, or when enabled."""
        return not self.hosted or self.local_training

    @property
    def has_allow_list(self) -> bool:
        """Return True when at least one email or domain is allowed."""
        return bool(self.allowed_emails or self.allowed_domains)

    def is_allowed(self, email: str | None) -> bool:
        """Return True when ``email`` (case-insensitive) or its exact domain is on the allow-list.

        Outside hosted mode everyone is allowed; in hosted mode an empty allow-list lets nobody
        in, so a forgotten setting fails closed.
        """
        if not self.hosted:
            return True
        if not email or email.count("@") != 1:
            return False
        address = email.strip().lower()
        domain = address.rsplit("@", 1)[1]
        return address in self.allowed_emails or domain in self.allowed_domains

    def output_dir_for(self, user_email: str | None) -> Path:
        """Return the output folder for a user: per-user in hosted mode, the base otherwise."""
        if not self.hosted:
            return self.output_base
        return output_dir_for(user_email, self.output_base)


def user_slug(user_email: str) -> str:
    """Return a folder-safe, collision-free name for a user: readable part plus a short hash."""
    readable = re.sub(r"[^a-z0-9._-]+", "-", user_email.strip().lower()).strip(".-")[:48]
    digest = hashlib.sha256(user_email.strip().lower().encode()).hexdigest()[:10]
    return f"{readable or 'user'}-{digest}"


def output_dir_for(user_email: str | None, base: str | os.PathLike[str]) -> Path:
    """Return ``base/users/<slug>`` for a signed-in user, ``base/users/anonymous`` without one."""
    name = user_slug(user_email) if user_email and user_email.strip() else "anonymous"
    return Path(base) / "users" / name
