"""The checkers: can a trainer take this split, and if not, why not, one line a rule.

Pure functions over parsed JSONL lines (``{"messages": [...]}`` dicts, as ``prepare`` writes
them); the dashboard's Export page calls ``export_support`` for its table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypedDict

import orjson

from ftkit.exports.convert import to_record
from ftkit.exports.rules import CHARS_PER_TOKEN, FORMATS, RULES, FormatName, TrainerRules

__all__ = ["FormatSupport", "check_example", "check_split", "export_support"]

CARRIED_ROLES = ("system", "user", "assistant")
CARRIED_KEYS = frozenset({"role", "content", "weight"})
MAX_REASONS = 20

Problem = tuple[str, str]  # (rule key, one-line detail)


class FormatSupport(TypedDict):
    """One row of the support table: can ``format`` take the split, and why not."""

    format: FormatName
    trainer: str
    ok: bool
    reasons: list[str]
    doc_url: str
    as_of: str


def _message_problems(message: Any, index: int, rules: TrainerRules) -> list[Problem]:
    """Return the problems of one message: role, keys, content, weight, reserved text."""
    if not isinstance(message, dict):
        return [("shape", f"message {index} is not an object")]
    role = message.get("role")
    if role not in CARRIED_ROLES:
        return [
            (
                "role",
                f"message {index} has role {role!r}; exports carry only "
                "system, user and assistant messages",
            )
        ]
    problems: list[Problem] = []
    extra = sorted(set(message) - CARRIED_KEYS)
    if extra:
        problems.append(
            ("keys", f"message {index} ({role}) has {', '.join(extra)}, which exports do not carry")
        )
    content = message.get("content")
    if not isinstance(content, str) or not content:
        problems.append(("content", f"message {index} ({role}) content must be non-empty text"))
    elif role in rules.reserved_roles:
        found = next((word for word in rules.reserved if word in content), None)
        if found:
            problems.append(
                (
                    "reserved",
                    f"message {index} ({role}) contains {found!r}, "
                    f"which {rules.trainer} does not allow",
                )
            )
    if "weight" in message:
        problems += _weight_problems(message["weight"], role, index, rules)
    return problems


def _weight_problems(weight: Any, role: str, index: int, rules: TrainerRules) -> list[Problem]:
    if rules.weight == "none":
        return [("weight", f"message {index} has a weight, which {rules.trainer} does not take")]
    if rules.weight == "assistant" and role != "assistant":
        return [
            (
                "weight",
                f"message {index} ({role}) has a weight; {rules.trainer} takes "
                "weights on assistant messages only",
            )
        ]
    if type(weight) is not int or weight not in (0, 1):
        return [("weight", f"message {index} has weight {weight!r}; it must be 0 or 1")]
    return []


def _order_problems(roles: list[str], rules: TrainerRules) -> list[Problem]:
    """Return the problems of the message order: system placement, alternation, last turn."""
    problems: list[Problem] = []
    if "assistant" not in roles:
        problems.append(("answer", "no assistant message"))
    late_system = [i for i, role in enumerate(roles, start=1) if role == "system" and i > 1]
    if rules.system_first and late_system:
        problems.append(
            (
                "system",
                f"message {late_system[0]} is a system message; "
                f"{rules.trainer} takes one only as the first message",
            )
        )
    if rules.alternate:
        turns = [(i, r) for i, r in enumerate(roles, start=1) if r != "system"]
        for position, (index, role) in enumerate(turns):
            expected = "user" if position % 2 == 0 else "assistant"
            if role != expected:
                problems.append(
                    (
                        "order",
                        f"message {index} is {role} where {rules.trainer} "
                        f"needs {expected} (turns must alternate, user first)",
                    )
                )
                break
    if rules.ends_with_assistant and roles and roles[-1] != "assistant":
        problems.append(
            (
                "last",
                f"the last message is {roles[-1]}; {rules.trainer} needs "
                "the assistant's answer last",
            )
        )
    return problems


def check_example(example: Any, rules: TrainerRules) -> list[Problem]:
    """Return every problem one parsed line has for the trainer ``rules`` describe."""
    messages = example.get("messages") if isinstance(example, dict) else None
    if not isinstance(messages, list) or not messages:
        return [("shape", 'the line needs a non-empty "messages" list')]
    problems: list[Problem] = []
    for index, message in enumerate(messages, start=1):
        problems += _message_problems(message, index, rules)
    if problems:
        return problems
    problems += _order_problems([m["role"] for m in messages], rules)
    if rules.max_example_tokens is not None:
        chars = sum(len(m["content"]) for m in messages)
        tokens = math.ceil(chars / CHARS_PER_TOKEN)
        if tokens > rules.max_example_tokens:
            problems.append(
                (
                    "tokens",
                    f"about {tokens:,} tokens, over {rules.trainer}'s "
                    f"{rules.max_example_tokens:,}-token limit "
                    f"(estimated at {CHARS_PER_TOKEN} characters a token)",
                )
            )
    return problems


def _group(label: str, found: list[tuple[int, Problem]]) -> list[str]:
    """Return one line per rule: its first example, and how many more break it."""
    first: dict[str, tuple[int, str]] = {}
    counts: dict[str, int] = {}
    for number, (key, detail) in found:
        first.setdefault(key, (number, detail))
        counts[key] = counts.get(key, 0) + 1
    lines = []
    for key, (number, detail) in first.items():
        more = counts[key] - 1
        tail = f" (and {more:,} more {label} example{'s' if more > 1 else ''})" if more else ""
        lines.append(f"{label} example {number}: {detail}{tail}")
    return lines


def _size(count: int) -> str:
    """Return a byte count as people say it: 900 bytes, 12.5 KB, 512 MB, 1 GB."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if count >= scale:
            return f"{count / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{count:,} bytes"


def _file_bytes(format: FormatName, examples: Sequence[Any]) -> int:
    return sum(len(orjson.dumps(to_record(format, e["messages"]))) + 1 for e in examples)


def _split_reasons(
    format: FormatName, examples: Sequence[Any], label: str, rules: TrainerRules
) -> list[str]:
    """Return the reasons one file cannot go to the trainer: its examples, then its size."""
    found: list[tuple[int, Problem]] = []
    for number, example in enumerate(examples, start=1):
        found.extend((number, problem) for problem in check_example(example, rules))
    reasons = _group(label, found)
    if not found and rules.max_file_bytes is not None:
        size = _file_bytes(format, examples)
        if size > rules.max_file_bytes:
            limit = _size(rules.max_file_bytes)
            reasons.append(
                f"the {label} file would be {_size(size)}, over {rules.trainer}'s {limit} limit"
            )
    return reasons


def check_split(
    format: FormatName, examples: Sequence[Any], validation: Sequence[Any] | None = None
) -> FormatSupport:
    """Return whether ``format``'s trainer can take this training (and validation) split."""
    rules = RULES[format]
    reasons = _split_reasons(format, examples, "training", rules)
    count = len(examples)
    if count < rules.min_examples:
        reasons.insert(
            0, f"{count:,} training examples; {rules.trainer} needs at least {rules.min_examples:,}"
        )
    if rules.max_examples is not None and count > rules.max_examples:
        reasons.insert(
            0, f"{count:,} training examples; {rules.trainer} takes at most {rules.max_examples:,}"
        )
    if validation:
        more = _split_reasons(format, validation, "validation", rules)
        limit = rules.max_validation_examples
        if limit is not None and len(validation) > limit:
            more.insert(
                0,
                f"{len(validation):,} validation examples; {rules.trainer} takes at most {limit:,}",
            )
        reasons += more
    if len(reasons) > MAX_REASONS:
        hidden = len(reasons) - MAX_REASONS + 1
        reasons = [*reasons[: MAX_REASONS - 1], f"and {hidden} more problems"]
    return FormatSupport(
        format=format,
        trainer=rules.trainer,
        ok=not reasons,
        reasons=reasons,
        doc_url=rules.doc_url,
        as_of=rules.as_of,
    )


def export_support(
    examples: Sequence[Any], validation: Sequence[Any] | None = None
) -> list[FormatSupport]:
    """Return one row per export format: can it take this split, and why not.

    ``examples`` and ``validation`` are parsed JSONL lines (``{"messages": [...]}``).
    """
    return [check_split(format, examples, validation) for format in FORMATS]
