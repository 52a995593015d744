"""Turn items into chat messages with editable templates; the defaults are the lecture's."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import add, attrgetter, getitem
from typing import Any, Literal, TypedDict

import orjson

from ftkit.errors import TemplateError
from ftkit.items import PRICE_PREFIX, QUESTION, Item
from ftkit.templates import FIELDS, MAX_TEMPLATE_CHARS, check_template, template_fields

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


def lecture_prompt(item: Item) -> str:
    """Return the lecture's user message: the test prompt without the price line.

    Equal to the lecture's ``item.test_prompt().replace(" to the nearest dollar", "")
    .replace("\\n\\nPrice is $", "")``, computed with fewer copies of the text.
    """
    text = item.prompt.partition(PRICE_PREFIX)[0].replace(" to the nearest dollar", "")
    if PRICE_PREFIX in text:  # the removal formed a new "Price is $": take the exact path
        return (text + PRICE_PREFIX).replace("\n\nPrice is $", "")
    return text[:-2] if text.endswith("\n\n") else text + PRICE_PREFIX


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


_ROWS_PER_CHUNK = 256  # a chunk's text stays in the CPU cache while it is worked on


def encode_examples(items: Sequence[Item], templates: Templates | None = None) -> Iterator[bytes]:
    """Yield the JSONL bytes of one example per item, a few hundred lines per chunk.

    With the lecture's user and assistant templates (any system prompt) the lines are put
    together from pre-encoded pieces, byte for byte what encoding each example would give;
    other templates go through ``render_examples``.
    """
    t = templates or Templates()
    if t.user != DEFAULT_USER_TEMPLATE or t.assistant != DEFAULT_ASSISTANT_TEMPLATE:
        for start in range(0, len(items), _ROWS_PER_CHUNK):
            examples = render_examples(items[start : start + _ROWS_PER_CHUNK], t)
            yield b"".join(orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in examples)
        return
    lines = _LectureLines(t.system)
    for start in range(0, len(items), _ROWS_PER_CHUNK):
        batch = items[start : start + _ROWS_PER_CHUNK]
        yield lines.course_chunk(batch) or lines.chunk(batch)


_PROMPT_OF = attrgetter("prompt")
_PRICE_OF = attrgetter("price")
_QUESTION = QUESTION.encode()
_SHORT_QUESTION = QUESTION.replace(" to the nearest dollar", "").encode()
_NEAREST = b" to the nearest dollar"
_NEWLINES = b"\\n\\n"  # two newlines, as JSON escapes them
_ITEM_BREAK = b'","'  # between two strings of a JSON list; never inside an encoded string


class _LectureLines:
    """JSONL lines with the lecture's user and assistant templates and a given system prompt."""

    def __init__(self, system: str) -> None:
        self.head = b'{"messages":[{"role":"system","content":%s},{"role":"user","content":' % (
            orjson.dumps(system)
        )
        self.middle = b'},{"role":"assistant","content":"Price is $'
        self.tail = b'"}]}\n'
        # A line is its start, the user text, the bytes before the price, the price and the end;
        # between two lines the end and the next start go together as "after the price".
        self.start = self.head + b'"' + _SHORT_QUESTION
        self.before_price = b'"' + self.middle
        self.after_price = self.tail + self.start

    def chunk(self, batch: Sequence[Item]) -> bytes:
        """Return the lines for ``batch``, one example at a time (any item)."""
        head, middle, tail, dumps = self.head, self.middle, self.tail, orjson.dumps
        parts: list[bytes] = []
        add = parts.extend
        for item in batch:
            add((head, dumps(lecture_prompt(item)), middle, b"%.2f" % item.price, tail))
        return b"".join(parts)

    def course_chunk(self, batch: Sequence[Item]) -> bytes | None:
        """Return the lines for ``batch`` if every prompt has the course's shape, else None.

        The course's prompts are "<question>\\n\\n<text>\\n\\nPrice is $N.00". All of them
        are JSON-encoded in one call, then each user message is cut out of that buffer: no
        per-item string is built twice. The shape is proven for the whole chunk first, so the
        result is exactly what ``chunk`` gives; a chunk with any other prompt returns None.
        """
        count = len(batch)
        if not count:
            return None
        try:
            encoded = orjson.dumps(list(map(_PROMPT_OF, batch)))
            prices = list(map(_PRICE_FORMAT.__mod__, map(_PRICE_OF, batch)))
        except (TypeError, AttributeError):  # a prompt that is not text, a price not a number
            return None
        # One question per prompt, so " to the nearest dollar" appears nowhere else ...
        if encoded.count(_NEAREST) != count:
            return None
        # ... and one "Price is $" per prompt: the k-1 breaks between the list's strings fall
        # one in each of the k-1 pieces between two "Price is $", never two in one piece.
        pieces = encoded.split(PRICE_PREFIX.encode())
        if len(pieces) != count + 1:
            return None
        inner = pieces[1:count]
        breaks = list(map(bytes.find, inner, repeat(_ITEM_BREAK)))
        if -1 in breaks:
            return None
        starts = list(map(add, breaks, repeat(len(_ITEM_BREAK))))
        first = pieces[0]
        if not first.startswith(b'["' + _QUESTION) or not all(
            map(bytes.startswith, inner, repeat(_QUESTION), starts)
        ):
            return None
        # Each text ends in two escaped newlines right before "Price is $" (a backslash before
        # them could make the first one part of "\\\\", so such a chunk takes the slow path).
        before = pieces[:count]
        if not all(map(bytes.endswith, before, repeat(_NEWLINES))) or _BACKSLASH in map(
            getitem, before, repeat(-5)
        ):
            return None
        skip = len(_QUESTION)
        # per item: the line's start (or the previous line's end and this one's start), the
        # user text, the bytes before the price, the price; then the last line's end
        parts: list[bytes] = [self.after_price, b"", self.before_price, b""] * count
        parts[0] = self.start
        parts[1] = first[2 + skip : -4]
        parts[5::4] = map(_cut, inner, map(slice, map(add, starts, repeat(skip)), repeat(-4)))
        parts[3::4] = prices
        parts.append(self.tail)
        return b"".join(parts)


_BACKSLASH = ord("\\")
_PRICE_FORMAT = b"%.2f"
_cut: Callable[[bytes, slice], bytes] = bytes.__getitem__


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
