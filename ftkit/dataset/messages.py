"""Turn items into chat messages with editable templates; the defaults are the lecture's."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import orjson

from ftkit.dataset.templates import FIELDS, MAX_TEMPLATE_CHARS, check_template, template_fields
from ftkit.errors import TemplateError
from ftkit.items import PRICE_PREFIX, QUESTION, Item

__all__ = [
    "DEFAULT_ASSISTANT_TEMPLATE",
    "DEFAULT_SYSTEM_PROMPT",
    "DEFAULT_USER_TEMPLATE",
    "FIELDS",
    "LEAKY_FIELDS",
    "Example",
    "Message",
    "Templates",
    "encode_examples",
    "leaked_fields",
    "lecture_prompt",
    "render_examples",
    "render_messages",
]

DEFAULT_SYSTEM_PROMPT = "You estimate prices of items. Reply only with the price, no explanation"
DEFAULT_USER_TEMPLATE = "{lecture_prompt}"
DEFAULT_ASSISTANT_TEMPLATE = "Price is ${price:.2f}"

LEAKY_FIELDS = frozenset({"price", "prompt"})


class Message(TypedDict):
    """One chat message as the fine-tuning API takes it."""

    role: Literal["system", "user", "assistant"]
    content: str


class Example(TypedDict):
    """One line of a chat fine-tuning JSONL file."""

    messages: list[Message]


@dataclass(frozen=True)
class Templates:
    """The system prompt and the user and assistant templates (``str.format`` fields).

    Raises ``TemplateError`` unless the system prompt has text and each template uses only
    ``FIELDS`` with plain format specs (see ``check_template``).
    """

    system: str = DEFAULT_SYSTEM_PROMPT
    user: str = DEFAULT_USER_TEMPLATE
    assistant: str = DEFAULT_ASSISTANT_TEMPLATE

    def __post_init__(self) -> None:
        if not self.system.strip():
            raise TemplateError("system prompt: is empty; write what the model should do")
        if len(self.system) > MAX_TEMPLATE_CHARS:
            raise TemplateError(f"system prompt: longer than {MAX_TEMPLATE_CHARS:,} characters")
        for name in ("user", "assistant"):
            check_template(getattr(self, name), name)


def leaked_fields(templates: Templates) -> list[str]:
    """Return the fields in the user template that reveal the answer (the price)."""
    fields = template_fields(templates.user, "user")
    return sorted(LEAKY_FIELDS.intersection(fields))


_NEAREST = " to the nearest dollar"
_SHORT_QUESTION = QUESTION.replace(_NEAREST, "")


def lecture_prompt(item: Item) -> str:
    """Return the lecture's user message: the test prompt without the price line.

    Equal to the lecture's ``item.test_prompt().replace(" to the nearest dollar", "")
    .replace("\\n\\nPrice is $", "")``. A course prompt (the question, the text, a blank line
    and the price line) gives the short question and the text, found with two scans of the
    prompt instead of four; any other prompt takes the lecture's own expression.
    """
    prompt = item.prompt
    end = prompt.find(PRICE_PREFIX) - 2  # where the blank line before the price line starts
    if end >= len(QUESTION) and prompt.startswith(QUESTION) and prompt.startswith("\n\n", end):
        text = prompt[len(QUESTION) : end]
        if _NEAREST not in text:
            return _SHORT_QUESTION + text
    return item.test_prompt().replace(_NEAREST, "").replace("\n\nPrice is $", "")


class _ItemFields(dict[str, Any]):
    """Template fields of one item, computed only when a template asks for them."""

    def __init__(self, item: Item) -> None:
        super().__init__()
        self.item = item

    def __missing__(self, key: str) -> Any:
        item = self.item
        if key == "lecture_prompt":
            return lecture_prompt(item)
        if key == "test_prompt":
            return item.test_prompt()
        if key == "text":
            return item.text
        if key == "price":  # a float, as the template was checked with (a pickle may hold an int)
            return float(item.price)
        return getattr(item, key)


def _format(template: str, item: Item, name: str) -> str:
    try:
        return template.format_map(_ItemFields(item))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as err:
        raise TemplateError(f"{name} template: cannot fill it for '{item.title}': {err}") from None


def render_messages(item: Item, templates: Templates | None = None) -> list[Message]:
    """Return the system, user and assistant messages for one item."""
    t = templates or Templates()
    if t.user == DEFAULT_USER_TEMPLATE:
        user = lecture_prompt(item)
    else:
        user = _format(t.user, item, "user")
    if t.assistant == DEFAULT_ASSISTANT_TEMPLATE:
        assistant = f"Price is ${item.price:.2f}"
    else:
        assistant = _format(t.assistant, item, "assistant")
    return [
        {"role": "system", "content": t.system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": assistant},
    ]


_ROWS_PER_CHUNK = 256


def encode_examples(items: Sequence[Item], templates: Templates | None = None) -> Iterator[bytes]:
    """Yield the JSONL bytes of one example per item, a few hundred lines per chunk.

    With the lecture's user and assistant templates (any system prompt) a line is fixed bytes
    around the JSON-encoded user message and the price: byte for byte what encoding its
    ``render_examples`` example gives, without building the example. Other templates encode
    ``render_examples``.
    """
    t = templates or Templates()
    if t.user != DEFAULT_USER_TEMPLATE or t.assistant != DEFAULT_ASSISTANT_TEMPLATE:
        for start in range(0, len(items), _ROWS_PER_CHUNK):
            examples = render_examples(items[start : start + _ROWS_PER_CHUNK], t)
            yield b"".join(orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in examples)
        return
    system = orjson.dumps(t.system)
    head = b'{"messages":[{"role":"system","content":%s},{"role":"user","content":' % system
    middle = b'},{"role":"assistant","content":"Price is $'
    tail = b'"}]}\n'
    for start in range(0, len(items), _ROWS_PER_CHUNK):
        parts: list[bytes] = []
        for item in items[start : start + _ROWS_PER_CHUNK]:
            user = orjson.dumps(lecture_prompt(item))
            parts += (head, user, middle, b"%.2f" % item.price, tail)
        yield b"".join(parts)


def render_examples(items: Iterable[Item], templates: Templates | None = None) -> Iterator[Example]:
    """Yield one ``{"messages": [...]}`` example per item."""
    t = templates or Templates()
    if t.user != DEFAULT_USER_TEMPLATE or t.assistant != DEFAULT_ASSISTANT_TEMPLATE:
        for item in items:
            yield {"messages": render_messages(item, t)}
        return
    system = t.system
    for item in items:  # the lecture's templates: the hot path for 400,000 items
        yield {
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": lecture_prompt(item)},
                {"role": "assistant", "content": f"Price is ${item.price:.2f}"},
            ]
        }
