"""Fireworks AI's REST API as ftkit uses it: one client, retries, and one-line errors.

Plain REST over ``httpx2`` (the ``fireworks-ai`` SDK pulls in aiohttp, httpx 0.x and pydantic
for a handful of calls). Every call is retried on 408, 429, 5xx, timeouts and dropped
connections with backoff that honours Retry-After; any other 4xx stops at once with one line
naming Fireworks, the action and Fireworks' own message, the key masked. A create that finds
its resource already there (409, as when a retry follows a lost response) returns None so the
caller fetches what the lost attempt made: ftkit chooses the ids, so nothing is made twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx2

from ftkit.api import Sleep, delay_for, shown_text
from ftkit.errors import ApiError, redact_text

__all__ = ["API_URL", "ATTEMPTS", "INFERENCE_URL", "FireworksApi", "reply_object"]

API_URL = "https://api.fireworks.ai"
INFERENCE_URL = "https://api.fireworks.ai/inference/v1"
ATTEMPTS = 5
TIMEOUT = 120.0
_WORDS = {
    400: "invalid request",
    401: "authentication failed",
    403: "permission denied",
    404: "not found",
    409: "already exists",
    413: "file too large",
}


def _is_transient(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _message(response: httpx2.Response) -> str:
    """Return Fireworks' own words from an error reply (``{"error": {...}}`` or gRPC style)."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    inner = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(inner, dict) and isinstance(inner.get("message"), str):
        return str(inner["message"])
    return inner if isinstance(inner, str) else response.text.strip()


class FireworksApi:
    """Calls under ``/v1/accounts/{account_id}/`` with the key, retries and one-line errors."""

    def __init__(
        self,
        api_key: str,
        account_id: str,
        *,
        base_url: str | None = None,
        http: httpx2.Client | None = None,
        sleep: Sleep = time.sleep,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.account_id = account_id
        self.base_url = (base_url or API_URL).rstrip("/")
        self.http = http if http is not None else httpx2.Client(timeout=TIMEOUT)
        self.sleep = sleep
        self.attempts = attempts
        self._key = api_key

    def url(self, rest: str, *, account: str | None = None) -> str:
        """Return the URL of ``rest`` under the account (``account`` for another one)."""
        return f"{self.base_url}/v1/accounts/{account or self.account_id}/{rest}"

    def line(self, text: str) -> str:
        """Return ``text`` with the key and anything shaped like a secret masked."""
        return redact_text(text, (self._key,))

    def call(
        self,
        method: str,
        url: str,
        *,
        action: str,
        exists_ok: bool = False,
        signed: bool = False,
        **send: Any,
    ) -> Any:
        """Send a request (retrying transient failures) and return its JSON reply.

        ``exists_ok``: a 409 returns None (the caller fetches the resource). ``signed``: the URL
        is a signed upload URL, so the Fireworks key is not sent to it and no JSON is expected.
        ``send`` goes to ``httpx2.Client.request`` (``json``, ``params``, ``files``, ...).
        """
        headers: dict[str, str] = dict(send.pop("headers", None) or {})
        if not signed:
            headers["Authorization"] = f"Bearer {self._key}"
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http.request(method, url, headers=headers, **send)
            except httpx2.TransportError as err:
                if attempt == self.attempts:
                    why = shown_text(str(err) or type(err).__name__, (self._key,), 200)
                    raise ApiError(
                        self.line(f"Fireworks {action}: cannot reach it ({why})")
                    ) from None
                self.sleep(delay_for({}, attempt))
                continue
            if _is_transient(response.status_code) and attempt < self.attempts:
                self.sleep(delay_for(response.headers, attempt))
                continue
            if exists_ok and response.status_code == 409:
                return None
            if response.is_error:
                raise self.error(response, action)
            return None if signed else self._json(response, action)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def error(self, response: httpx2.Response, action: str) -> ApiError:
        """Return one line for an error reply: the action, the status and Fireworks' message."""
        status = response.status_code
        word = _WORDS.get(status, "server error" if status >= 500 else "HTTP")
        if status == 429:
            word = "rate limited, still after retries"
        message = shown_text(_message(response), (self._key,))
        line = f"Fireworks {action}: {word} ({status}) - {message}"
        return ApiError(self.line(line), status=status)

    def _json(self, response: httpx2.Response, action: str) -> Any:
        try:
            return response.json() if response.content else {}
        except (ValueError, json.JSONDecodeError):
            raise ApiError(
                f"Fireworks {action}: the reply cannot be read (it is not JSON)"
            ) from None


def reply_object(reply: Any, action: str) -> dict[str, Any]:
    """Return a JSON object reply; ``ApiError`` when Fireworks answered something else."""
    if not isinstance(reply, Mapping):
        raise ApiError(f"Fireworks {action}: the reply cannot be read (it is not an object)")
    return dict(reply)
