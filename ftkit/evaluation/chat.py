"""Ask a chat model for a price with the lecture's messages, over the Chat Completions API.

Each request: the system prompt, the item's test prompt (as the lecture sends it) as the user
message, and the assistant prefill "Price is $"; ``seed=42`` and a small ``max_tokens``.

Retries: a 429, a 408/409, any 5xx, a timeout or a dropped connection is retried up to
``max_attempts`` times in all, waiting what the server asks (``retry-after-ms`` or
``Retry-After``, seconds or an HTTP date, capped at ``max_wait``), else an exponential backoff
from 0.5 s. A 400 that rejects ``max_tokens`` switches to ``max_completion_tokens``; a 400
that rejects the prefill drops it; each only once, for every worker (the setting is shared: a
worker whose request went out before the switch retries with the new setting). A 401, 403, 404
or other 400 stops the run.

A reply of 200 that is not a chat completion (not JSON, no choices) fails that item at once
(a ``RetriesExhaustedError`` naming the item): the request was answered and may be billed.
The answer kept is at most ``MAX_ANSWER_CHARS`` characters, token counts at most
``MAX_REPLY_TOKENS``, whatever the server claims.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

from ftkit.dataset.messages import DEFAULT_SYSTEM_PROMPT, lecture_prompt
from ftkit.errors import EvaluationError, RetriesExhaustedError
from ftkit.evaluation.predictors import Guess
from ftkit.evaluation.scoring import parse_guess
from ftkit.items import PRICE_PREFIX, Item
from ftkit.providers import redact

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "MAX_ANSWER_CHARS",
    "SEED",
    "ChatPredictor",
    "messages_for",
    "retry_delay",
]

SEED = 42
DEFAULT_MAX_TOKENS = 7
MAX_ATTEMPTS = 6
MAX_WAIT = 60.0
MAX_ANSWER_CHARS = 2000  # a price answer is a few words; a longer one is cut when kept
MAX_REPLY_TOKENS = 10_000_000  # a server's token count beyond this is not believed
_MAX_ADAPTATIONS = 4  # two settings to switch, each possibly already switched by another worker
_RETRY_STATUSES = frozenset({408, 409, 429})
_PREFILL_WORDS = ("assistant", "prefill", "prefix", "last", "final message")


def messages_for(
    item: Item, *, system: str = DEFAULT_SYSTEM_PROMPT, prefill: bool = True
) -> list[ChatCompletionMessageParam]:
    """Return the lecture's messages for ``item``; the assistant prefill when ``prefill``."""
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": system},
        {"role": "user", "content": lecture_prompt(item)},
    ]
    if prefill:
        messages.append({"role": "assistant", "content": PRICE_PREFIX})
    return messages


def _header_delay(headers: Any) -> float | None:
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return float(raw_ms) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        return None if parsed is None else float(parsed.timestamp() - time.time())


def retry_delay(err: Exception, attempt: int, *, max_wait: float = MAX_WAIT) -> float:
    """Return seconds to wait before retry number ``attempt`` (1-based) after ``err``."""
    response = getattr(err, "response", None)
    asked = _header_delay(getattr(response, "headers", None))
    if asked is not None:
        return min(max(asked, 0.0), max_wait)
    return min(0.5 * 2.0 ** (attempt - 1), max_wait) * random.uniform(0.8, 1.0)


def _is_transient(err: openai.OpenAIError) -> bool:
    if isinstance(err, openai.APIConnectionError):
        return True
    status = getattr(err, "status_code", None)
    return isinstance(status, int) and (status in _RETRY_STATUSES or status >= 500)


def _reply_text(completion: Any) -> str | None:
    """Return the first choice's text ("" when it has none); None when it is no completion."""
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        return None
    message = getattr(choices[0], "message", None)
    if message is None:
        return None
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else ""


def _token_count(usage: Any, name: str) -> int:
    """Return a believable token count from the reply's usage, else 0."""
    value = getattr(usage, name, None)
    return value if isinstance(value, int) and 0 <= value <= MAX_REPLY_TOKENS else 0


def _bad_reply(item: Item, reason: str) -> RetriesExhaustedError:
    """Return the failure of one item whose request was answered with something unusable."""
    return RetriesExhaustedError(f"{item.title[:60]}: HTTP 200 but {reason}")


def _refusal_text(err: openai.BadRequestError) -> str:
    """Return a 400's message, parameter and code in lower case, only to match, never shown."""
    body = getattr(err, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    extra = [inner.get(k) for k in ("param", "code")] if isinstance(inner, dict) else []
    return " ".join([_describe(err), *(str(v) for v in extra if v)]).lower()


def _describe(err: openai.OpenAIError, key: str = "") -> str:
    """Return "HTTP <status>: <message>" in one line of at most 300 characters, ``key`` masked."""
    status = getattr(err, "status_code", None)
    body = getattr(err, "body", None)
    message = str(err)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            message = inner["message"]
    text = " ".join(redact(message, (key,)).split())[:300]
    return f"HTTP {status}: {text}" if status else text


@dataclass
class ChatPredictor:
    """Guess prices with a chat model through ``client`` (an ``openai.OpenAI``)."""

    client: openai.OpenAI
    model: str
    system: str = DEFAULT_SYSTEM_PROMPT
    prefill: bool = True
    max_tokens: int = DEFAULT_MAX_TOKENS
    seed: int = SEED
    max_attempts: int = MAX_ATTEMPTS
    max_wait: float = MAX_WAIT
    sleep: Callable[[float], None] = time.sleep
    on_retry: Callable[[str], None] | None = None
    token_parameter: str = "max_tokens"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.client = self.client.with_options(max_retries=0)  # the loop below retries

    def _shape(self) -> tuple[bool, str]:
        """Return the shared request settings now: whether to prefill, and the token parameter."""
        with self._lock:
            return self.prefill, self.token_parameter

    def _request(self, item: Item, shape: tuple[bool, str]) -> Any:
        prefill, token_parameter = shape
        limit = self.max_tokens
        return self.client.chat.completions.create(
            model=self.model,
            messages=messages_for(item, system=self.system, prefill=prefill),
            seed=self.seed,
            max_tokens=limit if token_parameter == "max_tokens" else openai.omit,
            max_completion_tokens=limit if token_parameter != "max_tokens" else openai.omit,
        )

    def _describe(self, err: openai.OpenAIError) -> str:
        """Return the error in one line, never with the client's key in it."""
        return _describe(err, str(getattr(self.client, "api_key", "") or ""))

    def _adapt(self, err: openai.BadRequestError, sent: tuple[bool, str]) -> bool:
        """Adjust the shared settings to what this endpoint accepts; False when nothing is left.

        ``sent`` is what the refused request used: when another worker has changed the settings
        since, the request is simply asked again with the new ones.
        """
        text = _refusal_text(err)
        with self._lock:
            if (self.prefill, self.token_parameter) != sent:
                return True
            if "max_tokens" in text and self.token_parameter == "max_tokens":
                self.token_parameter = "max_completion_tokens"
                return True
            if self.prefill and any(word in text for word in _PREFILL_WORDS):
                self.prefill = False
                return True
        return False

    def __call__(self, item: Item) -> Guess:
        retries = 0
        adaptations = 0
        while True:
            shape = self._shape()
            try:
                completion = self._request(item, shape)
            except openai.BadRequestError as err:
                if adaptations < _MAX_ADAPTATIONS and self._adapt(err, shape):
                    adaptations += 1
                    continue
                raise EvaluationError(f"{self.model}: {self._describe(err)}") from None
            except openai.OpenAIError as err:
                reason = self._describe(err)
                if not _is_transient(err):
                    raise EvaluationError(f"{self.model}: {reason}") from None
                retries += 1
                if retries >= self.max_attempts:
                    raise RetriesExhaustedError(
                        f"{item.title[:60]}: gave up after {retries} attempts ({reason})"
                    ) from None
                delay = retry_delay(err, retries, max_wait=self.max_wait)
                if self.on_retry is not None:
                    self.on_retry(f"{reason}; retrying in {delay:.1f}s")
                self.sleep(delay)
                continue
            except ValueError:  # the SDK could not decode the 200's body as JSON
                raise _bad_reply(item, "the reply is not valid JSON") from None
            return self._guess(item, completion, retries)

    def _guess(self, item: Item, completion: Any, retries: int) -> Guess:
        text = _reply_text(completion)
        if text is None:
            raise _bad_reply(item, "the reply is not a chat completion")
        answer = text[:MAX_ANSWER_CHARS]
        usage = getattr(completion, "usage", None)
        return Guess(
            value=parse_guess(answer),
            answer=answer,
            input_tokens=_token_count(usage, "prompt_tokens"),
            output_tokens=_token_count(usage, "completion_tokens"),
            retries=retries,
        )
