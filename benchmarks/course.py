"""The course lecture's own code: its ``items.Item`` class and ``make_jsonl``/``write_jsonl``.

Used as the baseline in benchmarks and to build course-format pickles in tests. The class is
registered as module ``items`` so pickles made with it name ``items.Item``, as the course's do.
"""

from __future__ import annotations

import json
import random
import sys
import types

PREFIX = "Price is $"
QUESTION = "How much does this cost to the nearest dollar?"


class Item:
    """The course's Item (without its tokenizer): title, price, category, details, prompt."""

    def __init__(self, title: str, price: float, category: str, text: str) -> None:
        self.title = title
        self.price = price
        self.category = category
        self.token_count = 0
        self.details = text
        self.prompt = f"{QUESTION}\n\n{title}\n{text}\n\n{PREFIX}{round(price)}.00"
        self.include = True

    def test_prompt(self) -> str:
        return self.prompt.split(PREFIX)[0] + PREFIX


Item.__module__ = "items"
_module = types.ModuleType("items")
_module.Item = Item  # type: ignore[attr-defined]


def register() -> None:
    """Make ``items.Item`` importable, as the course's notebook has it."""
    sys.modules["items"] = _module


def unregister() -> None:
    sys.modules.pop("items", None)


def messages_for(item: Item) -> list[dict[str, str]]:
    system_message = "You estimate prices of items. Reply only with the price, no explanation"
    user_prompt = (
        item.test_prompt().replace(" to the nearest dollar", "").replace("\n\nPrice is $", "")
    )
    return [
        {"role": "system", "content": system_message},
        {"role": "user", "content": user_prompt},
        {"role": "assistant", "content": f"Price is ${item.price:.2f}"},
    ]


def make_jsonl(items: list[Item]) -> str:
    result = ""
    for item in items:
        messages = messages_for(item)
        messages_str = json.dumps(messages)
        result += '{"messages": ' + messages_str + "}\n"
    return result.strip()


def write_jsonl(items: list[Item], filename: str) -> None:
    with open(filename, "w") as f:
        jsonl = make_jsonl(items)
        f.write(jsonl)


_WORDS = [
    "stainless",
    "steel",
    "compact",
    "durable",
    "premium",
    "wireless",
    "portable",
    "adjustable",
    "ergonomic",
    "quiet",
    "powerful",
    "lightweight",
    "rechargeable",
    "waterproof",
    "replacement",
    "universal",
    "kit",
    "filter",
    "motor",
    "cordless",
    "digital",
    "smart",
    "heavy",
    "duty",
    "set",
    "pack",
    "black",
    "white",
    "silver",
    "inch",
    "watt",
    "volt",
    "capacity",
]
_CATEGORIES = ("Appliances", "Electronics", "Tools", "Automotive", "Toys", "Office")


def make_items(count: int, *, seed: int = 0, text_chars: int = 950) -> list[Item]:
    """Return ``count`` distinct course-style items with about ``text_chars`` characters of text.

    Texts are drawn from a pool of random word runs with a per-item suffix, so every item has
    its own strings (as real pickles do; shared strings would be memoized by pickle).
    """
    rng = random.Random(seed)
    words_per_text = max(1, text_chars // 8)
    pool = [" ".join(rng.choices(_WORDS, k=words_per_text)) for _ in range(min(count, 2000))]
    items = []
    for number in range(count):
        price = round(rng.uniform(1, 999), 2)
        title = f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS)} model {number}"
        text = f"{pool[number % len(pool)]} part {number}"
        items.append(Item(title, price, _CATEGORIES[number % len(_CATEGORIES)], text))
    return items
