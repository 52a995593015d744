"""OpenAI's chat fine-tuning format, field by field: each check returns problems, never raises.

Every value comes straight from ``orjson.loads``, so any field may hold any JSON type; a wrong
type anywhere is a ``(code, message)`` problem. The shapes follow OpenAI's API reference:
``messages`` (system, user, assistant, tool, deprecated function), assistant ``tool_calls`` and
legacy ``function_call``, and the top-level ``tools``, ``functions`` and ``parallel_tool_calls``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ALLOWED_KEYS",
    "Problem",
    "check_content",
    "check_message",
    "check_top_level",
    "special_tokens",
]

Problem = tuple[str, str]

_COMMON = frozenset({"role", "content"})
ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "system": _COMMON | {"name"},
    "user": _COMMON | {"name"},
    "assistant": _COMMON | {"name", "weight", "tool_calls", "function_call"},
    "tool": _COMMON | {"tool_call_id"},
    "function": _COMMON | {"name"},
}
_REQUIRED: dict[str, frozenset[str]] = {
    "system": _COMMON,
    "user": _COMMON,
    "assistant": frozenset({"role"}),
    "tool": _COMMON | {"tool_call_id"},
    "function": _COMMON | {"name"},
}
_PART_TYPES: dict[str, frozenset[str]] = {
    "system": frozenset({"text"}),
    "user": frozenset({"text", "image_url"}),
    "assistant": frozenset({"text"}),
    "tool": frozenset({"text"}),
    "function": frozenset(),
}
_PART_KEYS = {"text": frozenset({"type", "text"}), "image_url": frozenset({"type", "image_url"})}
_DETAILS = ("auto", "low", "high")
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SPECIAL = re.compile(
    r"<\|(?:endoftext|endofprompt|fim_prefix|fim_middle|fim_suffix|im_start|im_end|im_sep)\|>"
)
MAX_FUNCTIONS = 128


def _json_type(value: Any) -> str:
    """Return the JSON name of a parsed value's type ("object", "list", "number", ...)."""
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _shown(value: Any) -> str:
    """Return a short scalar as its repr, anything else as its JSON type."""
    if isinstance(value, str | int | float) and len(shown := repr(value)) <= 40:
        return shown
    return _json_type(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _unknown(value: dict[str, Any], allowed: frozenset[str]) -> str:
    return ", ".join(sorted(set(value) - allowed))


def special_tokens(text: str, where: str) -> list[Problem]:
    """Return a problem when ``text`` holds a special token such as ``<|endoftext|>``."""
    if "<|" not in text:
        return []
    found = _SPECIAL.search(text)
    return [("content.special_token", f"{where} contains {found.group()}")] if found else []


def _check_part(part: Any, role: str, where: str) -> list[Problem]:
    """Return problems with one content part: its type, its keys and its fields."""
    if not isinstance(part, dict):
        return [("message.content", f"{where} has a content part that is {_json_type(part)}")]
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in _PART_TYPES[role]:
        return [("message.content", f"{where} has a content part of type {_shown(kind)}")]
    if not part.keys() <= _PART_KEYS[kind]:
        unknown = _unknown(part, _PART_KEYS[kind])
        return [("message.content", f"{where} has a {kind} part with unknown {unknown}")]
    if kind == "text":
        text = part.get("text")
        if not isinstance(text, str) or not text:
            return [("message.content", f"{where} has a text part without non-empty text")]
        return special_tokens(text, where)
    return _check_image(part.get("image_url"), where)


def _check_image(image: Any, where: str) -> list[Problem]:
    """Return problems with an ``image_url`` object: a non-empty url, an optional detail."""
    if not isinstance(image, dict):
        return [("message.content", f"{where} has an image_url part with no image_url object")]
    if not _is_text(image.get("url")):
        return [("message.content", f"{where} has an image_url part without a url")]
    if "detail" in image and image["detail"] not in _DETAILS:
        return [("message.content", f"{where} image_url detail must be auto, low or high")]
    if not image.keys() <= {"url", "detail"}:
        unknown = _unknown(image, frozenset({"url", "detail"}))
        return [("message.content", f"{where} image_url has unknown {unknown}")]
    return []


def check_content(role: str, content: Any, where: str) -> list[Problem]:
    """Return problems with one message's content (a string or a list of parts)."""
    if isinstance(content, str):
        if not content:
            return [("message.content", f"{where} has empty content")]
        return special_tokens(content, where)
    if not isinstance(content, list) or not content or not _PART_TYPES[role]:
        shape = "text or a list of parts" if _PART_TYPES[role] else "text"
        return [("message.content", f"{where} content must be non-empty {shape}")]
    problems: list[Problem] = []
    for part in content:
        found = _check_part(part, role, where)
        if found and found[0][0] == "message.content":
            return found
        problems += found
    return problems


def _check_function(value: Any, where: str, *, arguments: bool) -> str | None:
    """Return what is wrong with a ``{"name": ..., "arguments": ...}`` call, or None."""
    if not isinstance(value, dict):
        return f"{where} must be an object, not {_json_type(value)}"
    name = value.get("name")
    if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
        return f"{where} name must be 1-64 letters, digits, _ or -"
    if arguments and not isinstance(value.get("arguments"), str):
        return f"{where} arguments must be a JSON string"
    allowed = {"name", "arguments"} if arguments else {"name", "description", "parameters"}
    if not value.keys() <= allowed:
        return f"{where} has unknown {_unknown(value, frozenset(allowed))}"
    return None


def _check_tool_call(call: Any, where: str) -> str | None:
    """Return what is wrong with one tool call, or None."""
    if not isinstance(call, dict):
        return f"{where} must be an object, not {_json_type(call)}"
    if not _is_text(call.get("id")):
        return f"{where} id must be non-empty text"
    if call.get("type") != "function":
        return f'{where} type must be "function"'
    if not call.keys() <= {"id", "type", "function"}:
        return f"{where} has unknown {_unknown(call, frozenset({'id', 'type', 'function'}))}"
    return _check_function(call.get("function"), f"{where} function", arguments=True)


def _check_calls(message: dict[str, Any], where: str) -> list[Problem]:
    """Return problems with an assistant's ``tool_calls`` and ``function_call``."""
    found: str | None = None
    if "tool_calls" in message:
        calls = message["tool_calls"]
        if not isinstance(calls, list) or not calls:
            found = f"{where} tool_calls must be a non-empty list, not {_json_type(calls)}"
        else:
            for number, call in enumerate(calls, start=1):
                found = found or _check_tool_call(call, f"{where} tool call {number}")
    if found is None and "function_call" in message:
        found = _check_function(message["function_call"], f"{where} function_call", arguments=True)
    return [] if found is None else [("message.tool_calls", found)]


def _check_keys(message: dict[str, Any], role: str, where: str) -> list[Problem]:
    """Return problems with a message's keys: unknown, missing, weight, name, tool_call_id."""
    keys, allowed = message.keys(), ALLOWED_KEYS[role]
    problems: list[Problem] = []
    if "weight" in keys and role != "assistant":
        problems.append(("message.weight", f"{where} has a weight"))
    unknown = sorted(set(keys) - allowed - {"weight"})
    if unknown:
        problems.append(("message.keys", f"{where} has unknown {unknown}"))
    if not _REQUIRED[role] <= keys:
        problems.append(("message.keys", f"{where} lacks {sorted(_REQUIRED[role] - set(keys))}"))
    if "weight" in keys and role == "assistant":
        weight = message["weight"]
        if type(weight) is not int or weight not in (0, 1):
            problems.append(("message.weight", f"{where} has weight {_shown(weight)}"))
    for key in ("name", "tool_call_id"):
        if key in keys and not _is_text(message[key]):
            problems.append(("message.keys", f"{where} {key} must be non-empty text"))
    return problems


def check_message(message: Any, index: int) -> list[Problem]:
    """Return problems with one message: role, keys, weight, calls and content."""
    if not isinstance(message, dict):
        return [("message.keys", f"message {index} is {_json_type(message)}, not an object")]
    role = message.get("role")
    if not isinstance(role, str) or role not in ALLOWED_KEYS:
        return [("messages.role", f"message {index} has role {_shown(role)}")]
    where = f"message {index} ({role})"
    problems = _check_keys(message, role, where)
    if role == "assistant":
        problems += _check_calls(message, where)
        calls = "tool_calls" in message or "function_call" in message
        if message.get("content") is None and calls:
            return problems
    if "content" in message or role == "assistant":
        problems += check_content(role, message.get("content"), where)
    return problems


def _check_tool(tool: Any, where: str) -> str | None:
    """Return what is wrong with one ``tools`` entry, or None."""
    if not isinstance(tool, dict):
        return f"{where} must be an object, not {_json_type(tool)}"
    if tool.get("type") != "function":
        return f'{where} type must be "function"'
    if not tool.keys() <= {"type", "function"}:
        return f"{where} has unknown {_unknown(tool, frozenset({'type', 'function'}))}"
    function = tool.get("function")
    if isinstance(function, dict) and "strict" in function:
        if function["strict"] is not None and not isinstance(function["strict"], bool):
            return f"{where} function strict must be true, false or null"
        function = {key: value for key, value in function.items() if key != "strict"}
    return _check_definition(function, f"{where} function")


def _check_definition(function: Any, where: str) -> str | None:
    """Return what is wrong with a function definition (name, description, parameters)."""
    found = _check_function(function, where, arguments=False)
    if found is not None:
        return found
    if not isinstance(function.get("description", ""), str):
        return f"{where} description must be text"
    if not isinstance(function.get("parameters", {}), dict):
        return f"{where} parameters must be a JSON Schema object"
    return None


def _check_list(obj: dict[str, Any], key: str) -> str | None:
    """Return what is wrong with the top-level ``tools`` or ``functions`` list, or None."""
    entries = obj[key]
    if not isinstance(entries, list) or not entries:
        return f"{key} must be a non-empty list, not {_json_type(entries)}"
    if len(entries) > MAX_FUNCTIONS:
        return f"{key} has {len(entries):,} entries; at most {MAX_FUNCTIONS} are allowed"
    for number, entry in enumerate(entries, start=1):
        where = f"{key} entry {number}"
        found = _check_tool(entry, where) if key == "tools" else _check_definition(entry, where)
        if found is not None:
            return found
    return None


def check_top_level(obj: dict[str, Any]) -> list[Problem]:
    """Return problems with the example's ``tools``, ``functions`` and ``parallel_tool_calls``."""
    found: str | None = None
    for key in ("tools", "functions"):
        if key in obj:
            found = found or _check_list(obj, key)
    if found is None and "parallel_tool_calls" in obj:
        value = obj["parallel_tool_calls"]
        if not isinstance(value, bool):
            found = f"parallel_tool_calls must be true or false, not {_json_type(value)}"
    return [] if found is None else [("example.tools", found)]
