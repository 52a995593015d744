"""Token counts with each model's own tiktoken encoding, by OpenAI's published recipe.

Recipe (OpenAI cookbook, "How to count tokens with tiktoken"; for a training example every
message counts, the assistant's too):

    tokens = 3 (reply priming)
           + Σ over messages [ 3 + tokens(role) + tokens(content) + tokens(other strings)
                               + 1 if the message has a ``name`` ]

Content given as parts counts the text of its text parts; ``tool_calls`` and
``function_call`` count as their compact JSON. Assistant tokens are the tokens of assistant
message content only.

tiktoken downloads its encoding files the first time it is used. When it cannot (no network and
no ``TIKTOKEN_CACHE_DIR``), ``get_tokenizer`` returns an approximate tokenizer with
``approximate=True`` and a one-line ``notice`` saying how to fix it. It splits text the way the
encodings' pre-tokenizers do (runs of letters, numbers in groups of up to three digits, runs of
punctuation) and counts one token per started ``CHARS_PER_PIECE`` characters of each piece:
within a few percent of the real total on product listings (four characters per token
overcounts them by 10-15%).

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value at
rank ⌈p/100 × n⌉ (1-based), so it is always one of the values; the median is p50 by the same
rule (the lower middle value when n is even).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "CHARS_PER_PIECE",
    "REPLY_PRIMING",
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_NAME",
    "TokenStats",
    "Tokenizer",
    "approximate_count",
    "content_texts",
    "count_example",
    "extra_texts",
    "get_tokenizer",
    "percentile",
    "summarize",
]

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
CHARS_PER_PIECE = 7
_PIECES = re.compile(r"[^\W\d_]+|\d{1,3}|[^\w\s]+|_+")
_STRING_KEYS = ("name", "tool_call_id")
_JSON_KEYS = ("tool_calls", "function_call")


@dataclass(frozen=True)
class Tokenizer:
    """Counts tokens with a tiktoken encoding, or approximately when ``encoding`` is None."""

    encoding_name: str
    encoding: Any = None
    notice: str | None = None

    @property
    def approximate(self) -> bool:
        """Return True when counts are the estimate, not the encoding's own."""
        return self.encoding is None

    def count(self, text: str) -> int:
        """Return the number of tokens in ``text`` (special tokens counted as plain text)."""
        if self.encoding is None:
            return approximate_count(text)
        return len(self.encoding.encode_ordinary(text))

    def count_batch(self, texts: Sequence[str], *, num_threads: int = 2) -> list[int]:
        """Return the token count of each text; tiktoken's batch runs on ``num_threads``."""
        if self.encoding is None:
            return [approximate_count(text) for text in texts]
        if not texts:
            return []
        batch = texts if isinstance(texts, list) else list(texts)
        return list(map(len, self.encoding.encode_ordinary_batch(batch, num_threads=num_threads)))


def approximate_count(text: str) -> int:
    """Return the estimated token count of ``text`` when no encoding is available."""
    return sum(-(-len(piece) // CHARS_PER_PIECE) for piece in _PIECES.findall(text))


def get_tokenizer(encoding_name: str) -> Tokenizer:
    """Return a tokenizer for ``encoding_name``; approximate, with a notice, if tiktoken fails."""
    try:
        import tiktoken

        return Tokenizer(encoding_name, tiktoken.get_encoding(encoding_name))
    except Exception as err:  # any failure to load (no network, bad cache) means: approximate
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        notice = (
            f"tiktoken could not load the {encoding_name} encoding ({reason}); token counts "
            f"and costs are approximate (estimated from words and numbers). Fix: set "
            "TIKTOKEN_CACHE_DIR to a folder holding tiktoken's cached encoding files."
        )
        return Tokenizer(encoding_name, None, notice)


def content_texts(content: Any) -> list[str]:
    """Return the countable texts of a message's content: the string, or its text parts."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
    return []


def extra_texts(message: Mapping[str, Any]) -> list[str]:
    """Return the countable strings of a message besides role and content."""
    texts = [value for key in _STRING_KEYS if isinstance(value := message.get(key), str)]
    for key in _JSON_KEYS:
        value = message.get(key)
        if value is not None:
            texts.append(orjson.dumps(value).decode())
    return texts


def count_example(messages: Sequence[Mapping[str, Any]], tokenizer: Tokenizer) -> tuple[int, int]:
    """Return (tokens in the example, tokens of assistant content) by the recipe above."""
    total, assistant = REPLY_PRIMING, 0
    for message in messages:
        role = message.get("role")
        content = sum(map(tokenizer.count, content_texts(message.get("content"))))
        total += TOKENS_PER_MESSAGE + content
        total += tokenizer.count(role) if isinstance(role, str) else 0
        total += sum(map(tokenizer.count, extra_texts(message)))
        total += TOKENS_PER_NAME if "name" in message else 0
        assistant += content if role == "assistant" else 0
    return total, assistant


@dataclass(frozen=True)
class TokenStats:
    """Distribution of token counts: total and nearest-rank min, p10, median, p90 and max."""

    total: int = 0
    min: int = 0
    p10: int = 0
    median: int = 0
    p90: int = 0
    max: int = 0


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """Return the nearest-rank p-th percentile of ascending ``sorted_values`` (0 if empty)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(values: Sequence[int]) -> TokenStats:
    """Return the distribution of ``values``; all zeros when there are none."""
    ordered = sorted(values)
    if not ordered:
        return TokenStats()
    return TokenStats(
        total=sum(ordered),
        min=ordered[0],
        p10=percentile(ordered, 10),
        median=percentile(ordered, 50),
        p90=percentile(ordered, 90),
        max=ordered[-1],
    )
