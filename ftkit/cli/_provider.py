"""Provider flags shared by the commands that talk to an endpoint.

Precedence: these flags, then the environment, then ``.env``. There is deliberately no flag for
the key itself (a key on a command line ends up in shell history): set ``OPENAI_API_KEY`` or
``AZURE_OPENAI_API_KEY`` (Together: ``TOGETHER_API_KEY``; Fireworks: ``FIREWORKS_API_KEY``
with ``--fireworks-account-id`` or ``FIREWORKS_ACCOUNT_ID``). A chat server other than
OpenAI's (vLLM, Ollama) may need no key: ``evaluate`` then sends a placeholder, which such
servers ignore; files and fine-tuning always need a key.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from urllib.parse import urlsplit

import openai

from ftkit.providers import (
    ProviderSettings,
    client_from_settings,
    env_hosted,
    env_settings,
    hosted_keys,
    resolve_settings,
)

__all__ = [
    "KEYLESS_PLACEHOLDER",
    "add_hosted_flags",
    "add_provider_flags",
    "client_from_args",
    "hosted_keys_from_args",
    "settings_from_args",
]

KEYLESS_PLACEHOLDER = "not-needed"
_OPENAI_HOST = "api.openai.com"


def add_provider_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--base-url``, ``--azure-endpoint`` and ``--api-version``."""
    group = parser.add_argument_group("provider (default: the environment and .env)")
    group.add_argument(
        "--base-url", metavar="URL", help="an OpenAI-compatible endpoint (OPENAI_BASE_URL)"
    )
    group.add_argument(
        "--azure-endpoint", metavar="URL", help="an Azure OpenAI resource (AZURE_OPENAI_ENDPOINT)"
    )
    group.add_argument("--api-version", metavar="V", help="Azure API version (OPENAI_API_VERSION)")


def settings_from_args(args: argparse.Namespace, *, keyless_ok: bool = False) -> ProviderSettings:
    """Return the settings from the flags, then the environment and ``.env``.

    With ``keyless_ok``, a compatible server other than OpenAI's gets a placeholder key.
    """
    flags = {
        "OPENAI_BASE_URL": args.base_url,
        "AZURE_OPENAI_ENDPOINT": args.azure_endpoint,
        "OPENAI_API_VERSION": args.api_version,
    }
    settings = resolve_settings(flags, env_settings())
    if keyless_ok and _is_keyless_server(settings):
        return replace(settings, api_key=KEYLESS_PLACEHOLDER)
    return settings


def _is_keyless_server(settings: ProviderSettings) -> bool:
    """Return True for a keyless base URL that points at a server other than OpenAI's."""
    if settings.kind != "compatible" or settings.has_key:
        return False
    try:
        host = urlsplit(settings.endpoint).hostname or ""
    except ValueError:  # a malformed URL: the client builder names it
        return True
    return host != _OPENAI_HOST


def client_from_args(
    args: argparse.Namespace, *, keyless_ok: bool = False
) -> tuple[openai.OpenAI, ProviderSettings]:
    """Return a client and its settings; raise ``ProviderError`` when no key is set."""
    settings = settings_from_args(args, keyless_ok=keyless_ok)
    return client_from_settings(settings), settings


def add_hosted_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--fireworks-account-id`` (the keys themselves come from the environment only)."""
    group = parser.add_argument_group(
        "Together and Fireworks (keys: TOGETHER_API_KEY, FIREWORKS_API_KEY in the environment)"
    )
    group.add_argument(
        "--fireworks-account-id", metavar="ID", help="your Fireworks account (FIREWORKS_ACCOUNT_ID)"
    )


def hosted_keys_from_args(args: argparse.Namespace, backend: str) -> dict[str, str]:
    """Return ``backend``'s settings: the flags, then the environment, then ``.env``."""
    flags = {"FIREWORKS_ACCOUNT_ID": getattr(args, "fireworks_account_id", None)}
    return hosted_keys(backend, flags, env_hosted())
