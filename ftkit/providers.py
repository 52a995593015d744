"""Provider settings: which endpoint and key to use, and the SDK client built from them.

Settings come from several sources; for each setting the first source that has a non-empty value
wins. The dashboard passes (sidebar-typed keys, ``st.secrets``, environment); the CLI passes
(command-line flags, environment). The environment includes a ``.env`` file in the working
directory, whose values never override variables already set.

Three kinds of provider share one SDK: OpenAI (a key), an OpenAI-compatible endpoint (a key and
``OPENAI_BASE_URL``) and Azure OpenAI (``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY`` and
``OPENAI_API_VERSION``; model names are deployment names).

This module builds every client: ``client_from_settings`` is the one place that constructs the
SDK's client, with one timeout (``DEFAULT_TIMEOUT`` seconds) and one retry count
(``DEFAULT_MAX_RETRIES``) for every page and command. Code that retries by itself (the chat
predictor, jobs, file uploads) turns the SDK's retries off per call with ``with_options``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx2
import openai

from ftkit.endpoints import OPENAI_ENDPOINT, EndpointGuard, HidingTransport, env_proxy
from ftkit.errors import ProviderError, redact_text, register_secret

__all__ = [
    "DEFAULT_AZURE_API_VERSION",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "HOSTED_BACKENDS",
    "HOSTED_SETTINGS",
    "KEY_PAGES",
    "SETTING_NAMES",
    "ProviderKind",
    "ProviderSettings",
    "client_from_settings",
    "env_hosted",
    "env_settings",
    "hosted_keys",
    "hosted_missing",
    "redact",
    "resolve_settings",
]

ProviderKind = Literal["openai", "compatible", "azure"]

SETTING_NAMES: tuple[str, ...] = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
)
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 4

_FIELD_OF = {
    "OPENAI_API_KEY": "api_key",
    "OPENAI_BASE_URL": "base_url",
    "AZURE_OPENAI_ENDPOINT": "azure_endpoint",
    "AZURE_OPENAI_API_KEY": "azure_api_key",
    "OPENAI_API_VERSION": "api_version",
}


def _mask(secret: str | None) -> str:
    """Return a key shown safely: its first 3 and last 2 characters at most."""
    if not secret:
        return "None"
    if len(secret) < 12:
        return "'***'"
    return f"'{secret[:3]}…{secret[-2:]}'"


@dataclass(frozen=True)
class ProviderSettings:
    """Where to send requests and with which key; ``repr`` never shows a key."""

    api_key: str | None = None
    base_url: str | None = None
    azure_endpoint: str | None = None
    azure_api_key: str | None = None
    api_version: str | None = None

    def __repr__(self) -> str:
        return (
            f"ProviderSettings(api_key={_mask(self.api_key)}, base_url={self.base_url!r}, "
            f"azure_endpoint={self.azure_endpoint!r}, "
            f"azure_api_key={_mask(self.azure_api_key)}, api_version={self.api_version!r})"
        )

    __str__ = __repr__

    @property
    def kind(self) -> ProviderKind:
        """Return "azure" with an Azure endpoint, "compatible" with a base URL, else "openai"."""
        if self.azure_endpoint:
            return "azure"
        if self.base_url:
            return "compatible"
        return "openai"

    @property
    def has_key(self) -> bool:
        """Return True when the chosen provider has a key to send."""
        if self.kind == "azure":
            return bool(self.azure_api_key or self.api_key)
        return bool(self.api_key)

    @property
    def endpoint(self) -> str:
        """Return a short, key-free name of the endpoint (used to remember uploads per provider)."""
        if self.azure_endpoint:
            return self.azure_endpoint.rstrip("/")
        return (self.base_url or OPENAI_ENDPOINT).rstrip("/")

    def missing(self) -> str | None:
        """Return one line saying what to set, or None when the settings are usable."""
        if self.kind == "azure" and not self.has_key:
            return "set AZURE_OPENAI_API_KEY (Azure OpenAI endpoint is set but it has no key)"
        if not self.has_key:
            return (
                "set OPENAI_API_KEY (in the sidebar, .streamlit/secrets.toml, the environment "
                "or .env); for Azure set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY"
            )
        return None

    def secrets(self) -> tuple[str, ...]:
        """Return the keys held, for scrubbing from any text shown."""
        return tuple(s for s in (self.api_key, self.azure_api_key) if s)


def _clean(value: object) -> str | None:
    """Return a stripped string, or None for missing or blank values."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def resolve_settings(*sources: Mapping[str, object]) -> ProviderSettings:
    """Merge setting sources, highest precedence first; blank values fall through."""
    values: dict[str, str | None] = {}
    for name in SETTING_NAMES:
        for source in sources:
            value = _clean(source.get(name))
            if value is not None:
                values[_FIELD_OF[name]] = value
                break
    return ProviderSettings(**values)


def _read_dotenv(path: Path, names: tuple[str, ...] = SETTING_NAMES) -> dict[str, str]:
    """Return the settings named ``names`` found in a ``.env`` file (empty when there is none)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    found = dotenv_values(path)
    return {k: v for k, v in found.items() if k in names and v}


def env_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: str | os.PathLike[str] | None = ".env"
) -> dict[str, str]:
    """Return the settings from the environment, then ``.env`` for any the environment lacks."""
    env = os.environ if environ is None else environ
    merged = _read_dotenv(Path(dotenv)) if dotenv is not None else {}
    merged.update({k: env[k] for k in SETTING_NAMES if _clean(env.get(k))})
    return merged


# The providers that train by API with their own key (one key per provider). The base URLs are
# the operator's (or a test's) only: never typed in the dashboard.
HOSTED_SETTINGS: dict[str, tuple[str, ...]] = {
    "together": ("TOGETHER_API_KEY", "TOGETHER_BASE_URL"),
    "fireworks": ("FIREWORKS_API_KEY", "FIREWORKS_ACCOUNT_ID", "FIREWORKS_BASE_URL"),
}
HOSTED_BACKENDS = tuple(HOSTED_SETTINGS)
HOSTED_KEY = {"together": "TOGETHER_API_KEY", "fireworks": "FIREWORKS_API_KEY"}
HOSTED_REQUIRED = {
    "together": ("TOGETHER_API_KEY",),
    "fireworks": ("FIREWORKS_API_KEY", "FIREWORKS_ACCOUNT_ID"),
}
KEY_PAGES = {
    "together": "https://api.together.ai/settings/api-keys",
    "fireworks": "https://app.fireworks.ai/settings/users/api-keys",
}
_HOSTED_NAMES = tuple(name for names in HOSTED_SETTINGS.values() for name in names)


def env_hosted(
    environ: Mapping[str, str] | None = None, *, dotenv: str | os.PathLike[str] | None = ".env"
) -> dict[str, str]:
    """Return the hosted providers' settings: the environment, then ``.env`` for the rest."""
    env = os.environ if environ is None else environ
    merged = _read_dotenv(Path(dotenv), _HOSTED_NAMES) if dotenv is not None else {}
    merged.update({k: env[k] for k in _HOSTED_NAMES if _clean(env.get(k))})
    return merged


def hosted_keys(backend: str, *sources: Mapping[str, object]) -> dict[str, str]:
    """Return ``backend``'s settings, each from the first source that has it (blank falls through).

    The key is registered for redaction, so no error line ever shows it.
    """
    values: dict[str, str] = {}
    for name in HOSTED_SETTINGS.get(backend, ()):
        for source in sources:
            value = _clean(source.get(name))
            if value is not None:
                values[name] = value
                break
    key = values.get(HOSTED_KEY.get(backend, ""))
    if key:
        register_secret(key)
    return values


def hosted_missing(backend: str, keys: Mapping[str, str]) -> str | None:
    """Return one line naming the settings ``backend`` still needs and where to get a key."""
    missing = [name for name in HOSTED_REQUIRED.get(backend, ()) if not keys.get(name)]
    if not missing:
        return None
    return f"set {' and '.join(missing)} (find them at {KEY_PAGES[backend]})"


def _guarded_http_client(
    settings: ProviderSettings, guard: EndpointGuard, timeout: float
) -> httpx2.Client:
    """Check the endpoint and return an HTTP client that keeps to the guard's rules."""
    field = "Azure OpenAI endpoint" if settings.kind == "azure" else "Base URL"
    guard.check(settings.endpoint, field=field)
    hide = not guard.is_trusted(settings.endpoint)
    transport = HidingTransport(guard, hide_errors=hide, proxy=env_proxy(settings.endpoint))
    return openai.DefaultHttpxClient(
        follow_redirects=False, transport=transport, timeout=timeout, trust_env=False
    )


@contextmanager
def _valid_url(field: str, url: str | None) -> Iterator[None]:
    """Turn the SDK's refusal of a malformed URL (a control character, too long) into one line."""
    try:
        yield
    except httpx2.InvalidURL as err:
        shown = repr(url if url is None or len(url) <= 80 else f"{url[:79]}…")
        raise ProviderError(f"{field}: {shown} is not a valid URL ({err})") from None


def client_from_settings(
    settings: ProviderSettings,
    *,
    guard: EndpointGuard | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> openai.OpenAI:
    """Return an ``OpenAI`` or ``AzureOpenAI`` client; raise ``ProviderError`` without a key.

    Every page and command calls this with the defaults; ``timeout`` and ``max_retries`` are
    for tests and library users. The SDK retries 429 and 5xx responses itself with backoff,
    honouring Retry-After. With a ``guard`` (hosted mode) the endpoint is checked first
    (``ProviderError`` when refused), redirects are not followed, and an untrusted endpoint's
    error bodies are never read.
    """
    problem = settings.missing()
    if problem is not None:
        raise ProviderError(problem)
    register_secret(*settings.secrets())  # masked in every error message from now on
    http_client = None if guard is None else _guarded_http_client(settings, guard, timeout)
    common: dict[str, Any] = {
        "timeout": timeout,
        "max_retries": max_retries,
        "http_client": http_client,
    }
    if settings.kind == "azure":
        with _valid_url("Azure OpenAI endpoint", settings.azure_endpoint):
            return openai.AzureOpenAI(
                azure_endpoint=settings.endpoint,
                api_key=settings.azure_api_key or settings.api_key,
                api_version=settings.api_version or DEFAULT_AZURE_API_VERSION,
                **common,
            )
    with _valid_url("Base URL", settings.base_url):
        return openai.OpenAI(api_key=settings.api_key, base_url=settings.base_url, **common)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return ``text`` with the given keys and anything shaped like a secret masked."""
    return redact_text(text, secrets)
