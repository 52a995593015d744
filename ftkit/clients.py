"""Build the OpenAI client: OpenAI, Azure OpenAI or a compatible server (vLLM, Ollama).

Precedence for every setting: the argument, then the environment, then a ``.env`` file found
from the current folder upwards. Environment names are the SDK's own:

    OPENAI_API_KEY, OPENAI_BASE_URL                 OpenAI or a compatible server
    AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY,    Azure OpenAI (chosen when an endpoint is set)
    OPENAI_API_VERSION

A compatible server reached through a base URL other than OpenAI's may need no key; ftkit then
sends a placeholder, which such servers ignore.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import openai
from dotenv import dotenv_values, find_dotenv

from ftkit.errors import CredentialsError, ProviderError

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NO_KEY_MESSAGE",
    "make_client",
    "read_setting",
]

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
NO_KEY_MESSAGE = (
    "no OpenAI API key: set OPENAI_API_KEY in the environment or a .env file "
    "(for Azure: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION)"
)
_PLACEHOLDER_KEY = "not-needed"
_OPENAI_HOST = "api.openai.com"


def _dotenv() -> dict[str, str | None]:
    path = find_dotenv(usecwd=True)
    return dict(dotenv_values(path)) if path else {}


def read_setting(name: str) -> str | None:
    """Return the setting ``name`` from the environment, else from ``.env``; blank is unset."""
    value = os.environ.get(name) or _dotenv().get(name)
    return value.strip() if value and value.strip() else None


@contextmanager
def _valid_url(field: str, url: str | None) -> Iterator[None]:
    """Turn the SDK's refusal of a malformed URL (a control character, too long) into one line."""
    try:
        yield
    except httpx2.InvalidURL as err:
        shown = repr(url if url is None or len(url) <= 80 else f"{url[:79]}…")
        raise ProviderError(f"{field}: {shown} is not a valid URL ({err})") from None


def _nothing(name: str) -> None:
    return None


def make_client(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    azure_endpoint: str | None = None,
    api_version: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    use_environment: bool = True,
    http_client: httpx2.Client | None = None,
) -> openai.OpenAI:
    """Return an ``openai.OpenAI`` (or ``openai.AzureOpenAI``) client.

    Azure is chosen when ``azure_endpoint`` or ``$AZURE_OPENAI_ENDPOINT`` is set. Raises
    ``CredentialsError`` (one line naming what to set) when a key or API version is missing.
    ``use_environment=False`` ignores the environment and ``.env`` (a hosted dashboard whose
    deployer has not allowed the server's key): only the arguments count. ``http_client``
    replaces the SDK's own (a hosted dashboard's guarded one, see ``ftkit.endpoints``).
    """
    setting = read_setting if use_environment else _nothing
    endpoint = azure_endpoint or setting("AZURE_OPENAI_ENDPOINT")
    if endpoint and not base_url:
        key = api_key or setting("AZURE_OPENAI_API_KEY") or setting("OPENAI_API_KEY")
        if not key:
            raise CredentialsError(
                f"no Azure OpenAI API key for {endpoint}: set AZURE_OPENAI_API_KEY"
            )
        version = api_version or setting("OPENAI_API_VERSION")
        if not version:
            raise CredentialsError(
                f"Azure OpenAI at {endpoint} needs an API version: set OPENAI_API_VERSION"
            )
        with _valid_url("Azure OpenAI endpoint", endpoint):
            return openai.AzureOpenAI(
                azure_endpoint=endpoint,
                api_key=key,
                api_version=version,
                timeout=timeout,
                max_retries=max_retries,
                http_client=http_client,
            )
    url = base_url or setting("OPENAI_BASE_URL")
    key = api_key or setting("OPENAI_API_KEY")
    if not key:
        if not url or _OPENAI_HOST in url:
            raise CredentialsError(NO_KEY_MESSAGE)
        key = _PLACEHOLDER_KEY
    with _valid_url("Base URL", url):
        return openai.OpenAI(
            api_key=key, base_url=url, timeout=timeout, max_retries=max_retries,
            http_client=http_client,
        )  # fmt: skip
