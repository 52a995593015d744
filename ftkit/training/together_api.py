"""The edge with Together's SDK: the optional import, one line per SDK error, retries.

The ``together`` package is optional; ``load_sdk`` imports it on first use and says how to
install it when it is missing. The SDK retries reads itself on 408, 429, 5xx, timeouts and
dropped connections, honouring Retry-After. A call that *creates* a job runs with SDK
retries off through ``create_once``: after a transient failure it first looks for the job a
lost response may have created, and only then tries again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from types import ModuleType
from typing import Any, TypeVar

from ftkit.api import SETTLE_WAITS, Sleep, retry_delay, shown_text
from ftkit.errors import ApiError, ProviderError, redact_text, register_secret

__all__ = [
    "INSTALL_LINE",
    "calling",
    "create_once",
    "is_transient",
    "load_sdk",
    "make_client",
    "sdk_error",
]

T = TypeVar("T")
INSTALL_LINE = "the Together backend needs the together package: pip install together"
MAX_RETRIES = 4
TIMEOUT = 120.0
_WORDS = {
    400: "invalid request",
    401: "authentication failed",
    403: "permission denied",
    404: "not found",
    409: "conflict",
    422: "invalid request",
    429: "rate limited",
}
_BAD_REPLY = (ValueError, TypeError, AttributeError, KeyError)


def load_sdk() -> ModuleType:
    """Return the ``together`` module; ``ProviderError`` with the install line when missing."""
    try:
        import together
    except ImportError:
        raise ProviderError(INSTALL_LINE) from None
    return together


def make_client(api_key: str, base_url: str | None = None) -> Any:
    """Return a ``together.Together`` client for ``api_key`` (``base_url``: another host)."""
    if not api_key.strip():
        raise ProviderError("Together: no API key (set TOGETHER_API_KEY or type one in)")
    sdk = load_sdk()
    register_secret(api_key)  # masked in every message from now on
    return sdk.Together(
        api_key=api_key, base_url=base_url, max_retries=MAX_RETRIES, timeout=TIMEOUT
    )


def _message(err: Any) -> str:
    """Return Together's own words from an error's JSON body, else the response text.

    The SDK's upload passes the body on as text, so a text body is read as JSON first.
    """
    body = err.body
    if isinstance(body, str):
        with suppress(ValueError):
            body = json.loads(body)
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    if isinstance(body, Mapping) and body.get("message"):
        return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body
    return str(err.message)


def sdk_error(err: BaseException, action: str, secrets: tuple[str, ...] = ()) -> ApiError:
    """Return one line for an SDK error: Together, the action, the status and its message."""
    sdk = load_sdk()
    prefix = f"Together: {action}"
    if isinstance(err, sdk.APITimeoutError):
        return ApiError(f"{prefix}: the request timed out")
    if isinstance(err, sdk.APIConnectionError):
        why = shown_text(str(err.__cause__ or err), secrets)
        return ApiError(redact_text(f"{prefix}: cannot reach the endpoint ({why})", secrets))
    if isinstance(err, sdk.APIStatusError):
        code = err.status_code
        word = _WORDS.get(code, "server error" if code >= 500 else "HTTP")
        line = f"{prefix}: {word} ({code}) - {shown_text(_message(err), secrets)}"
        return ApiError(redact_text(line, secrets), status=code)
    return ApiError(redact_text(f"{prefix}: {shown_text(str(err), secrets)}", secrets))


@contextmanager
def calling(action: str, secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """Turn an SDK error, or a reply ftkit cannot read, raised in the block into an ``ApiError``."""
    sdk = load_sdk()
    try:
        yield
    except sdk.TogetherError as err:
        raise sdk_error(err, action, secrets) from None
    except _BAD_REPLY as err:
        why = shown_text(str(err) or type(err).__name__, secrets, 100)
        raise ApiError(f"Together: {action}: the reply cannot be read ({why})") from None


def is_transient(err: BaseException) -> bool:
    """Return True for failures worth retrying: timeouts, dropped connections, 408, 429, 5xx."""
    sdk = load_sdk()
    if isinstance(err, sdk.APIConnectionError):
        return True
    if isinstance(err, sdk.APIStatusError):
        return err.status_code in (408, 429) or err.status_code >= 500
    return False


def create_once(
    create: Callable[[], T],
    find: Callable[[], T | None],
    *,
    action: str,
    attempts: int = 4,
    sleep: Sleep = time.sleep,
    secrets: tuple[str, ...] = (),
    settle: tuple[float, ...] = SETTLE_WAITS,
) -> T:
    """Run ``create`` (SDK retries off) so that it succeeds at most once.

    After a transient failure wait (honouring Retry-After), then ask ``find`` for what the
    lost attempt created; after a 5xx, a timeout or a dropped connection look again after
    each of ``settle`` before creating anew. Other errors stop at once with one line.
    """
    sdk = load_sdk()
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except sdk.TogetherError as err:
            if not is_transient(err) or attempt == attempts:
                raise sdk_error(err, action, secrets) from None
            ambiguous = not isinstance(err, sdk.APIStatusError) or err.status_code >= 500
            for wait in (retry_delay(err, attempt), *(settle if ambiguous else ())):
                sleep(wait)
                with calling(action, secrets):
                    found = find()
                if found is not None:
                    return found
        except ValueError as err:  # the SDK checks parameters before sending
            raise ProviderError(f"Together: {action}: {shown_text(str(err), secrets)}") from None
    raise AssertionError("unreachable")  # pragma: no cover
