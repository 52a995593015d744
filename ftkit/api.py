"""The edge with the API: SDK errors become one line, and creating calls run at most once.

The SDK already retries reads on 429, 5xx, timeouts and dropped connections (honouring
Retry-After). A request that *creates* something (a file, a job) is different: a lost response
may hide a success, so ``create_once`` sends it with SDK retries off and, after any transient
failure, first looks for what the lost attempt may have created before trying again.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import openai

from ftkit.errors import MAX_MESSAGE, ApiError, FtkitError, bounded_text, redact_text

__all__ = [
    "MAX_RETRY_WAIT",
    "SETTLE_WAITS",
    "Sleep",
    "api_error",
    "calling",
    "create_once",
    "delay_for",
    "is_transient",
    "optional",
    "reply_error",
    "require",
    "retry_delay",
    "shown_text",
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


_SHOWN_PARAM = 100
_BAD_REPLY = (ValueError, TypeError, AttributeError, KeyError)


def shown_text(text: str, secrets: Iterable[str | None] = (), limit: int = MAX_MESSAGE) -> str:
    """Return ``text`` as one redacted line of at most ``limit`` characters (plus a count)."""
    return bounded_text(" ".join(text[: limit * 4].split()) + text[limit * 4 :], secrets, limit)


def _detail(err: openai.APIStatusError) -> tuple[str, str | None]:
    """Return the API's own error message and its parameter, from the JSON body when present."""
    body: Any = err.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict) and body.get("message"):
        param = body.get("param")
        return str(body["message"]), str(param) if param else None
    text = (err.response.text or "").strip() if err.response is not None else ""
    return (text or err.message), None


def api_error(err: openai.OpenAIError, action: str, secrets: tuple[str, ...] = ()) -> ApiError:
    """Return one clear line for an SDK error: what failed, why, the parameter, the request id.

    The server's words are cut to ``MAX_MESSAGE`` characters, and ``secrets`` and the keys
    registered by the client builder are masked wherever the server echoed them.
    """
    if isinstance(err, openai.APITimeoutError):
        line = f"{action}: the request timed out (the endpoint did not answer in time)"
        return ApiError(redact_text(line, secrets))
    if isinstance(err, openai.APIConnectionError):
        why = shown_text(str(err.__cause__ or err), secrets)
        return ApiError(redact_text(f"{action}: cannot reach the endpoint ({why})", secrets))
    if isinstance(err, openai.APIStatusError):
        message, param = _detail(err)
        word = _STATUS_WORDS.get(err.status_code, "server error" if err.status_code >= 500 else "")
        parts = [f"{action}: {word or 'HTTP'} ({err.status_code})"]
        parts.append(f" - {shown_text(message, secrets)}")
        if param:
            parts.append(f" [parameter: {shown_text(param, secrets, _SHOWN_PARAM)}]")
        request_id = shown_text(err.request_id, secrets, _SHOWN_PARAM) if err.request_id else None
        if request_id:
            parts.append(f" (request id {request_id})")
        line = redact_text("".join(parts), secrets)
        return ApiError(line, status=err.status_code, request_id=request_id)
    return ApiError(redact_text(f"{action}: {shown_text(str(err), secrets)}", secrets))


def reply_error(err: BaseException, action: str, secrets: tuple[str, ...] = ()) -> ApiError:
    """Return one line for a reply ftkit cannot read (not JSON, missing or mistyped fields)."""
    if isinstance(err, json.JSONDecodeError):
        why = "it is not valid JSON"
    else:
        why = shown_text(str(err) or type(err).__name__, secrets, _SHOWN_PARAM)
    return ApiError(f"{action}: the endpoint's reply cannot be read ({why})")


@contextmanager
def calling(action: str, secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """Turn any SDK error, or an unreadable reply, raised inside the block into an ``ApiError``.

    An unreadable reply is a 200 answer that is not JSON, lacks a field or has a field of the
    wrong type; code inside the block that reads the reply may raise ``ValueError`` for it.
    """
    try:
        yield
    except openai.OpenAIError as err:
        raise api_error(err, action, secrets) from None
    except _BAD_REPLY as err:
        raise reply_error(err, action, secrets) from None


def optional(value: object, kind: type[T], field: str) -> T | None:
    """Return ``value`` if it is None or a ``kind``; else raise ``ValueError`` naming the field."""
    return None if value is None else require(value, kind, field)


def require(value: object, kind: type[T], field: str) -> T:
    """Return ``value`` if it is a ``kind``; else raise ``ValueError`` naming the reply's field."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        shown = "missing" if value is None else f"a {type(value).__name__}"
        raise ValueError(f"{field} is {shown}, not a {kind.__name__}")
    return value


def is_transient(err: BaseException) -> bool:
    """Return True for failures worth retrying: timeouts, dropped connections, 408, 429, 5xx."""
    if isinstance(err, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(err, openai.APIStatusError):
        return err.status_code in (408, 429) or err.status_code >= 500
    return False


def delay_for(headers: Mapping[str, str], attempt: int, *, base: float = 0.5) -> float:
    """Return seconds to wait before retry ``attempt`` (1-based): the reply's Retry-After(-ms)
    in seconds (capped), else an exponential backoff from ``base`` with jitter."""
    try:
        if "retry-after-ms" in headers:
            return min(max(float(headers["retry-after-ms"]) / 1000, 0.0), MAX_RETRY_WAIT)
        if "retry-after" in headers:
            return min(max(float(headers["retry-after"]), 0.0), MAX_RETRY_WAIT)
    except ValueError:
        pass
    backoff: float = min(base * 2.0 ** (attempt - 1), 8.0)
    return backoff * (0.75 + random.random() / 2)


def retry_delay(err: BaseException, attempt: int, *, base: float = 0.5) -> float:
    """Return the wait before retry ``attempt`` after ``err``: any SDK error with a reply
    (OpenAI's, Together's) gives its headers to ``delay_for``."""
    headers = getattr(getattr(err, "response", None), "headers", None)
    return delay_for(headers if headers is not None else {}, attempt, base=base)


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
    through ``translate`` (default ``api_error``) at once. A 200 reply that cannot be read
    means the server acted: ``find`` is asked once, and nothing is created again.
    """
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except _BAD_REPLY as err:
            with calling(action, secrets):
                found = find()
            if found is not None:
                return found
            raise reply_error(err, action, secrets) from None
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
