"""Generate a course-format training file for the benchmark (deterministic, from a seed)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

SYSTEM = "You estimate prices of items. Reply only with the price, no explanation"
QUESTION = "How much does this cost to the nearest dollar?"

_WORDS = [
    "stainless",
    "steel",
    "replacement",
    "part",
    "compatible",
    "with",
    "whirlpool",
    "kenmore",
    "maytag",
    "refrigerator",
    "dishwasher",
    "washer",
    "dryer",
    "filter",
    "valve",
    "motor",
    "assembly",
    "genuine",
    "OEM",
    "durable",
    "easy",
    "install",
    "includes",
    "kit",
    "water",
    "ice",
    "maker",
    "door",
    "gasket",
    "seal",
    "heating",
    "element",
    "thermostat",
    "sensor",
    "pump",
    "hose",
    "bracket",
    "screw",
    "knob",
    "handle",
    "shelf",
    "drawer",
    "rack",
    "light",
    "bulb",
    "switch",
    "timer",
    "control",
    "board",
    "fits",
    "models",
    "brand",
    "new",
    "high",
    "quality",
    "premium",
    "material",
    "tested",
    "warranty",
    "fast",
    "shipping",
    "the",
    "a",
    "an",
    "and",
    "or",
    "for",
    "to",
    "of",
    "in",
    "on",
    "with",
    "by",
    "from",
    "this",
    "that",
    "your",
    "our",
    "it",
    "is",
    "are",
    "be",
    "can",
    "will",
]


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(8, 22))
    number = rng.randint(10, 99999)
    return f"{' '.join(words).capitalize()} {number}."


def generate(path: Path, *, examples: int, seed: int = 42) -> Path:
    """Write ``examples`` course-style lines (~1 KB user prompt each) to ``path``; return it."""
    rng = random.Random(seed)
    pool = [_sentence(rng) for _ in range(20_000)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for index in range(examples):
            title = f"Part {index} " + " ".join(rng.choices(_WORDS, k=6)).title()
            body = " ".join(rng.choices(pool, k=9))
            price = round(rng.lognormvariate(3.5, 1.0), 2)
            row = {
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": f"{QUESTION}\n\n{title}\n{body}"},
                    {"role": "assistant", "content": f"Price is ${price:.2f}"},
                ]
            }
            handle.write(orjson.dumps(row))
            if index + 1 < examples:
                handle.write(b"\n")
    return path
