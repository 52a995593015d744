"""This session's key, for pages that only need to know whether there is one; and ``scrub``.

The key itself, its endpoint and the client come from ``ftkit.ui.providers`` (one provider
setting per browser session); this module only reads from it.
"""

from __future__ import annotations

from ftkit.history.redact import redact
from ftkit.ui.providers import KeySource, current_settings, key_source

__all__ = ["API_KEY_STATE", "KEY_STATE", "KeySource", "find_api_key", "key_source", "scrub"]

API_KEY_STATE = "openai_api_key"
KEY_STATE = API_KEY_STATE


def find_api_key() -> str | None:
    """Return the key this session's provider setting would send, or None."""
    settings = current_settings()
    if settings.kind == "azure":
        return settings.azure_api_key or settings.api_key
    return settings.api_key


def scrub(text: str) -> str:
    """Return ``text`` with anything that looks like a key blanked, for showing an error."""
    return str(redact(text))
