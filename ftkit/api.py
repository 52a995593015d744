"""The edge with the API: SDK errors become one line, and creating calls run at most once.

The SDK already retries reads on 429, 5xx, timeouts and dropped connections (honouring
Retry-After). A request that *creates* something (a file, a job) is different: a lost response
may hide a success, so ``create_once`` sends it with SDK retries off and, after any transient
failure, first looks for what the lost attempt may have created before trying again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import openai

from ftkit.errors import ApiError, FtkitError
from ftkit.providers import redact

__all__ = [
    "MAX_RETRY_WAIT",
    "SETTLE_WAITS",
    "Sleep",
    "api_error",
    "calling",
    "create_once",
    "is_transient",
    "retry_delay",
]

T = TypeVar("T")
Sleep = Callable[[float], None]

MAX_RETRY_WAIT = 60.0
SETTLE_WAITS = (1.0, 2.0, 4.0)
_STATUS_WORDS = {
    400: "invalid request",
    401: "authentication failed",
    403: "permission denied",
    404: "not found",
    409: "conflict",
    413: "file too large",
    422: "invalid request",
    429: "rate limited",
}


def _detail(err: openai.APIStatusError) -> tuple[str, str | None]:
    """Return the API's own error message and its parameter, from the JSON body when present."""
    body: Any = err.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict) and body.get("message"):
        param = body.get("param")
        return str(body["message"]), str(param) if param else None
    text = (err.response.text or "").strip() if err.response is not None else ""
    return (text[:200] or err.message), None


def api_error(err: openai.OpenAIError, action: str, secrets: tuple[str, ...] = ()) -> ApiError:
    """Return one clear line for an SDK error: what failed, why, the parameter, the request id."""
    if isinstance(err, openai.APITimeoutError):
        line = f"{action}: the request timed out (the endpoint did not answer in time)"
        return ApiError(redact(line, secrets))
    if isinstance(err, openai.APIConnectionError):
        line = f"{action}: cannot reach the endpoint ({err.__cause__ or err})"
        return ApiError(redact(line, secrets))
    if isinstance(err, openai.APIStatusError):
        message, param = _detail(err)
        word = _STATUS_WORDS.get(err.status_code, "server error" if err.status_code >= 500 else "")
        what = word or "HTTP"
        parts = [f"{action}: {what} ({err.status_code})"]
        parts.append(f" - {' '.join(message.split())}")
        if param:
            parts.append(f" [parameter: {param}]")
        if err.request_id:
            parts.append(f" (request id {err.request_id})")
        return ApiError(
            redact("".join(parts), secrets), status=err.status_code, request_id=err.request_id
        )
    return ApiError(redact(f"{action}: {err}", secrets))


@contextmanager
def calling(action: str, secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """Turn any SDK error raised inside the block into an ``ApiError`` naming ``action``."""
    try:
        yield
    except openai.OpenAIError as err:
        raise api_error(err, action, secrets) from None


def is_transient(err: BaseException) -> bool:
    """Return True for failures worth retrying: timeouts, dropped connections, 408, 429, 5xx."""
    if isinstance(err, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(err, openai.APIStatusError):
        return err.status_code in (408, 429) or err.status_code >= 500
    return False


def retry_delay(err: BaseException, attempt: int, *, base: float = 0.5) -> float:
    """Return seconds to wait before retry ``attempt`` (1-based): Retry-After, else backoff."""
    if isinstance(err, openai.APIStatusError) and err.response is not None:
        headers: Mapping[str, str] = err.response.headers
        try:
            if "retry-after-ms" in headers:
                return min(float(headers["retry-after-ms"]) / 1000, MAX_RETRY_WAIT)
            if "retry-after" in headers:
                return min(float(headers["retry-after"]), MAX_RETRY_WAIT)
        except ValueError:
            pass
    backoff: float = min(base * 2.0 ** (attempt - 1), 8.0)
    return backoff * (0.75 + random.random() / 2)


def create_once(
    create: Callable[[], T],
    find: Callable[[], T | None],
    *,
    action: str,
    attempts: int = 4,
    sleep: Sleep = time.sleep,
    secrets: tuple[str, ...] = (),
    translate: Callable[[openai.OpenAIError], FtkitError] | None = None,
    settle: tuple[float, ...] = SETTLE_WAITS,
) -> T:
    """Run ``create`` (a call with SDK retries off) at most once successfully.

    After a transient failure, wait (honouring Retry-After), then call ``find``: if it returns
    the object the lost attempt created, return that instead of creating a second one. When the
    server may still be working on the lost request (a timeout, a dropped connection, a 5xx),
    look again after each wait in ``settle`` before creating anew. Non-transient errors go
    through ``translate`` (default ``api_error``) at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except openai.OpenAIError as err:
            if not is_transient(err) or attempt == attempts:
                raise (translate(err) if translate else api_error(err, action, secrets)) from None
            waits = (retry_delay(err, attempt), *(settle if _is_ambiguous(err) else ()))
            for wait in waits:
                sleep(wait)
                with calling(action, secrets):
                    found = find()
                if found is not None:
                    return found
    raise AssertionError("unreachable")  # pragma: no cover


def _is_ambiguous(err: openai.OpenAIError) -> bool:
    """Return True when the server may have acted on a request whose answer was lost."""
    if isinstance(err, openai.APIStatusError):
        return err.status_code >= 500
    return isinstance(err, openai.APIConnectionError)
