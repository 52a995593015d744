"""One record per conversation, for each format, and back again.

A conversation is OpenAI's chat shape restricted to text: a list of ``{"role", "content"}``
messages (roles system, user and assistant), each with an optional ``weight`` of 0 or 1. The
checkers in ``ftkit.exports.check`` decide whether a format can take a conversation; the
functions here assume it can.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NotRequired, TypedDict

from ftkit.exports.rules import FormatName

__all__ = [
    "BEDROCK_SCHEMA",
    "ChatMessage",
    "Conversation",
    "from_record",
    "to_record",
]

BEDROCK_SCHEMA = "bedrock-conversation-2024"


class ChatMessage(TypedDict):
    """One text message of a conversation."""

    role: str
    content: str
    weight: NotRequired[int]


Conversation = list[ChatMessage]


def _message(role: str, content: str, weight: Any = None) -> ChatMessage:
    message: ChatMessage = {"role": role, "content": content}
    if weight is not None:
        message["weight"] = weight
    return message


def _to_chat(conversation: Conversation) -> dict[str, Any]:
    return {"messages": [dict(message) for message in conversation]}


def _from_chat(record: dict[str, Any]) -> Conversation:
    return [_message(m["role"], m["content"], m.get("weight")) for m in record["messages"]]


def _split_system(conversation: Conversation) -> tuple[str | None, Conversation]:
    if conversation and conversation[0]["role"] == "system":
        return conversation[0]["content"], conversation[1:]
    return None, conversation


def _to_vertex(conversation: Conversation) -> dict[str, Any]:
    system, turns = _split_system(conversation)
    record: dict[str, Any] = {}
    if system is not None:
        record["systemInstruction"] = {"role": "system", "parts": [{"text": system}]}
    record["contents"] = [
        {
            "role": "model" if m["role"] == "assistant" else m["role"],
            "parts": [{"text": m["content"]}],
        }
        for m in turns
    ]
    return record


def _texts(parts: list[dict[str, Any]]) -> str:
    return "".join(part["text"] for part in parts)


def _from_vertex(record: dict[str, Any]) -> Conversation:
    conversation: Conversation = []
    if "systemInstruction" in record:
        conversation.append(_message("system", _texts(record["systemInstruction"]["parts"])))
    for turn in record["contents"]:
        role = "assistant" if turn["role"] == "model" else turn["role"]
        conversation.append(_message(role, _texts(turn["parts"])))
    return conversation


def _to_bedrock(conversation: Conversation) -> dict[str, Any]:
    system, turns = _split_system(conversation)
    record: dict[str, Any] = {"schemaVersion": BEDROCK_SCHEMA}
    if system is not None:
        record["system"] = [{"text": system}]
    record["messages"] = [{"role": m["role"], "content": [{"text": m["content"]}]} for m in turns]
    return record


def _from_bedrock(record: dict[str, Any]) -> Conversation:
    conversation: Conversation = []
    if record.get("system"):
        conversation.append(_message("system", _texts(record["system"])))
    conversation.extend(_message(m["role"], _texts(m["content"])) for m in record["messages"])
    return conversation


_WRITERS: dict[FormatName, Callable[[Conversation], dict[str, Any]]] = {
    "openai-chat": _to_chat,
    "azure-openai": _to_chat,
    "together": _to_chat,
    "fireworks": _to_chat,
    "vertex-gemini": _to_vertex,
    "bedrock": _to_bedrock,
    "hf-chat": _to_chat,
}
_READERS: dict[FormatName, Callable[[dict[str, Any]], Conversation]] = {
    "openai-chat": _from_chat,
    "azure-openai": _from_chat,
    "together": _from_chat,
    "fireworks": _from_chat,
    "vertex-gemini": _from_vertex,
    "bedrock": _from_bedrock,
    "hf-chat": _from_chat,
}


def to_record(format: FormatName, conversation: Conversation) -> dict[str, Any]:
    """Return the one JSON object ``format`` stores for ``conversation``."""
    return _WRITERS[format](conversation)


def from_record(format: FormatName, record: dict[str, Any]) -> Conversation:
    """Return the conversation a ``format`` record holds.

    Raises ``KeyError``, ``TypeError`` or ``AttributeError`` on a record of another shape;
    ``ftkit.exports.files`` turns them into a ``SourceError`` naming the line.
    """
    return _READERS[format](record)
