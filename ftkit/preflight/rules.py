"""The pre-flight rules: one table of stable codes with their fixes, and the per-line checks.

The per-example check is a tight loop over plain dicts (as ``orjson.loads`` returns them) and
returns ``(code, message)`` pairs; ``ftkit.preflight.scan`` adds line numbers, files and fixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ftkit.preflight.shapes import Problem, check_message, check_top_level

__all__ = [
    "RULES",
    "Problem",
    "Rule",
    "Severity",
    "check_example",
    "classify_bad_line",
    "find_price_leak",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    """One rule: its stable code, whether it fails the check, what it means and how to fix it."""

    code: str
    severity: Severity
    summary: str
    fix: str


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("line.utf8", "error", "line is not valid UTF-8", "re-save the file as UTF-8"),
        Rule(
            "line.bom",
            "error",
            "line starts with a byte-order mark",
            'save as plain UTF-8 without a BOM (encoding="utf-8", not "utf-8-sig")',
        ),
        Rule(
            "line.json",
            "error",
            "line is not strict JSON",
            "write each line with json.dumps(row, allow_nan=False): no NaN or Infinity, "
            "at most 1,024 levels deep",
        ),
        Rule(
            "line.not_object",
            "error",
            "line is not a JSON object",
            'make each line one object: {"messages": [...]}',
        ),
        Rule(
            "line.blank",
            "error",
            "blank line",
            "remove blank lines (a missing or single final newline is fine)",
        ),
        Rule(
            "messages.missing",
            "error",
            '"messages" is missing or not a non-empty list',
            'give each line a "messages" list with at least one message',
        ),
        Rule(
            "messages.role",
            "error",
            "message role is not allowed",
            "use role system, user, assistant or tool (function is deprecated)",
        ),
        Rule(
            "message.keys",
            "error",
            "message has a missing or unknown key",
            "keep only the keys the role allows (tool messages need tool_call_id)",
        ),
        Rule(
            "message.content",
            "error",
            "message content is empty or of the wrong type",
            "give every message non-empty string content",
        ),
        Rule(
            "message.tool_calls",
            "error",
            "tool_calls or function_call does not match OpenAI's format",
            'give tool_calls as a list of {"id": str, "type": "function", '
            '"function": {"name": str, "arguments": str}}',
        ),
        Rule(
            "example.tools",
            "error",
            "tools, functions or parallel_tool_calls does not match OpenAI's format",
            'give tools as a list of {"type": "function", "function": {"name": str, '
            '"parameters": {...}}} and parallel_tool_calls as true or false',
        ),
        Rule(
            "line.too_long",
            "error",
            "line is longer than ftkit reads",
            "shorten the example (large images belong at a URL, not inline)",
        ),
        Rule(
            "messages.no_assistant",
            "error",
            "example has no assistant message",
            "end each example with the assistant's answer",
        ),
        Rule(
            "message.weight",
            "error",
            "weight is not allowed here",
            "put weight only on assistant messages, as the integer 0 or 1",
        ),
        Rule(
            "content.special_token",
            "error",
            "content contains a special token",
            "remove or escape special tokens such as <|endoftext|> from the text",
        ),
        Rule(
            "file.too_few",
            "error",
            "fewer than 10 examples",
            "add examples: OpenAI requires at least 10 (50-100 is a sensible start)",
        ),
        Rule(
            "example.too_long",
            "error",
            "prompt alone exceeds the model's token limit",
            "shorten the prompt (the answer would be cut off entirely)",
        ),
        Rule(
            "file.too_large",
            "error",
            "file is over 8 GB",
            "split the data: OpenAI accepts files up to 8 GB",
        ),
        Rule("warn.duplicate", "warning", "exact duplicate example", "remove the repeated line"),
        Rule(
            "warn.shared_with_validation",
            "warning",
            "example also in the training file",
            "remove it from one file: training and validation must not overlap",
        ),
        Rule(
            "warn.price_leak",
            "warning",
            "the answer's price appears in the prompt",
            "remove the price from the user text so the model cannot copy it",
        ),
        Rule(
            "warn.truncated",
            "warning",
            "example exceeds the model's token limit",
            "shorten it: OpenAI truncates it during training",
        ),
        Rule(
            "file.needs_uploads_api",
            "warning",
            "file is over 512 MB",
            "upload it with the Uploads API (in parts), not a single files.create call",
        ),
    )
}

_PRICE = re.compile(r"\$\s?(\d[\d,]*(?:\.\d+)?)")
_NON_STRICT = re.compile(rb"(?<![\w\"])-?(?:NaN|Infinity)(?![\w\"])")
BOM = b"\xef\xbb\xbf"
MAX_DEPTH = 1024  # orjson's nesting limit: a deeper line is refused as invalid JSON
_COMMON = frozenset({"role", "content"})


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def classify_bad_line(line: bytes, error: Exception) -> Problem:
    """Return the rule a line that orjson rejected breaks: BOM, UTF-8 or strict JSON."""
    if line.startswith(BOM):
        return "line.bom", "line starts with a UTF-8 byte-order mark"
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as err:
        return "line.utf8", f"invalid UTF-8 at byte {err.start + 1}"
    if "depth limit" in str(error):
        return "line.json", f"nested deeper than {MAX_DEPTH:,} levels"
    if _NON_STRICT.search(line) and _parses(_NON_STRICT.sub(b"null", line)):
        return "line.json", "NaN or Infinity is not strict JSON"
    return "line.json", f"not valid JSON ({error})"


def _is_plain(message: Any) -> bool:
    """Return True for the common message: role and non-empty string content, nothing else."""
    return (
        type(message) is dict
        and message.keys() == _COMMON
        and type(content := message["content"]) is str
        and bool(content)
        and message["role"] in ("system", "user", "assistant")
        and "<|" not in content
    )


def check_example(obj: Any) -> list[Problem]:
    """Return every structural problem of one parsed line (empty when it is a valid example)."""
    if not isinstance(obj, dict):
        return [("line.not_object", f"line is a JSON {type(obj).__name__}, not an object")]
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        return [("messages.missing", '"messages" must be a non-empty list')]
    problems: list[Problem] = check_top_level(obj) if len(obj) > 1 else []
    has_assistant = False
    for index, message in enumerate(messages, start=1):
        if not _is_plain(message):  # the common case is checked without the full walk
            problems += check_message(message, index)
        has_assistant = has_assistant or (
            isinstance(message, dict) and message.get("role") == "assistant"
        )
    if not has_assistant:
        problems.append(("messages.no_assistant", "no message has role assistant"))
    return problems


def _is_bounded(text: str, start: int, end: int) -> bool:
    """Return True when text[start:end] is not part of a longer number."""
    if start > 0 and (text[start - 1].isdigit() or text[start - 1] in ".,"):
        return False
    if end < len(text) and text[end].isdigit():
        return False
    return not (end + 1 < len(text) and text[end] in ".," and text[end + 1].isdigit())


def find_price_leak(answer: str, prompts: list[str]) -> str | None:
    """Return how the answer's dollar amount appears in a prompt ("$226.00", "226.00"), or None."""
    match = _PRICE.search(answer)
    if match is None:
        return None
    amount = match.group(1).rstrip(".,")
    whole = amount.split(".")[0]
    needles = [f"${amount}", f"$ {amount}"]
    if "." in amount:
        needles.append(amount)
    if amount.endswith((".00", ".0")) or "." not in amount:
        needles += [f"${whole}", f"$ {whole}"]
    for text in prompts:
        for needle in needles:
            start = text.find(needle)
            while start != -1:
                if _is_bounded(text, start, start + len(needle)):
                    return needle
                start = text.find(needle, start + 1)
    return None
