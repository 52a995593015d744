"""Compose ftkit's built-in sample: 1,400 synthetic product listings, byte-reproducible.

Run ``python tools/make_sample.py`` to rewrite ``ftkit/data/sample_items.jsonl.gz``, or pass
``--out PATH`` to write elsewhere. Everything comes from the hand-written parts in
``sample_catalog.py`` and one ``random.Random(42)``; the gzip header carries no name or time.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
from pathlib import Path
from typing import Any

from sample_catalog import (
    CATEGORIES,
    DESCRIPTION_TEMPLATES,
    ORIGINS,
    TIER_FEATURES,
    TIER_WORDS,
    TITLE_TEMPLATES,
    Category,
    ProductType,
)

SEED = 42
TOTAL = 1400
TRAIN = 1100
NO_PRICE = 14
MIN_TEXT, MAX_TEXT = 400, 1200
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "ftkit" / "data" / "sample_items.jsonl.gz"

TIERS = ("budget", "mid", "premium")
TIER_WEIGHTS = (5, 4, 2)
TIER_ADJECTIVES = {"budget": "budget-friendly", "mid": "dependable", "premium": "premium"}
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
OPTIONAL_DETAILS = (
    "Material",
    "Color",
    "Item Weight",
    "Product Dimensions",
    "Model Number",
    "Date First Available",
    "Manufacturer",
    "Country of Origin",
)

Record = dict[str, Any]


def pick_type(rng: random.Random, category: Category) -> ProductType:
    """Pick a product type, favouring cheap ones so prices skew low overall."""
    weights = [(t.lo * t.hi) ** -0.22 for t in category.types]
    return rng.choices(category.types, weights=weights)[0]


def price_for(rng: random.Random, ptype: ProductType, tier: int, size_pos: float) -> float:
    """Place a price in the type's range: brand tier and size push it up, noise skews it low."""
    q = 0.3 * tier / 2 + 0.3 * size_pos + 0.4 * rng.random() ** 1.3
    raw = ptype.lo * (ptype.hi / ptype.lo) ** q
    ending = rng.choices((0.99, 0.95, 0.49, 0.0, 0.5, -1.0), weights=(45, 8, 10, 17, 5, 15))[0]
    cents = rng.randrange(100) / 100 if ending < 0 else ending
    return round(int(raw) + cents, 2)


def format_weight(rng: random.Random, ptype: ProductType, size_pos: float) -> str:
    """Return an Amazon-style weight that grows with the size variant."""
    lo, hi = ptype.pounds
    pounds = (lo + (hi - lo) * size_pos) * rng.uniform(0.85, 1.15)
    if pounds < 1:
        return f"{pounds * 16:.1f} ounces"
    return f"{pounds:.2f} Pounds"


def format_dimensions(rng: random.Random, ptype: ProductType, size_pos: float) -> str:
    """Return 'L x W x H' inches roughly consistent with the item's weight."""
    lo, hi = ptype.pounds
    side = (max(lo + (hi - lo) * size_pos, 0.05) * 60) ** (1 / 3)
    dims = [side * rng.uniform(0.5, 1.8) for _ in range(3)]
    return f'{dims[0]:.1f}"L x {dims[1]:.1f}"W x {dims[2]:.1f}"H'


def format_date(rng: random.Random) -> str:
    """Return a 'Month D, YYYY' date between 2014 and 2023."""
    return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2014, 2023)}"


def make_model(rng: random.Random, brand: str) -> str:
    """Return a model number like 'KT-4821' from the brand's letters."""
    letters = "".join(c for c in brand.upper() if c.isalpha())
    prefix = letters[0] + rng.choice(letters[1:])
    suffix = rng.choice(("", "", "", "B", "X", "PRO", "S"))
    return f"{prefix}-{rng.randint(100, 9999)}{suffix}"


def make_details(
    rng: random.Random, ptype: ProductType, words: dict[str, str], size_pos: float
) -> dict[str, str]:
    """Return 4 to 7 detail key/values: Brand, the size attribute and a few more."""
    values = {
        "Material": words["mat"],
        "Color": words["color"],
        "Item Weight": format_weight(rng, ptype, size_pos),
        "Product Dimensions": format_dimensions(rng, ptype, size_pos),
        "Model Number": words["model"],
        "Date First Available": format_date(rng),
        "Manufacturer": rng.choice((words["brand"], f"{words['brand']} Inc.", "Generic")),
        "Country of Origin": rng.choice(ORIGINS),
    }
    chosen = set(rng.sample(OPTIONAL_DETAILS, rng.randint(2, 5)))
    details = {"Brand": words["brand"], ptype.size_key: words["size"]}
    details.update({key: values[key] for key in OPTIONAL_DETAILS if key in chosen})
    return details


def make_text(
    rng: random.Random, category: Category, ptype: ProductType, tier: str, words: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Return (features, description): 3-6 bullet points and 1-3 sentences."""
    own = rng.sample(ptype.features, rng.randint(2, min(4, len(ptype.features))))
    shared = rng.sample(category.features, rng.randint(1, 2))
    extra = rng.sample(TIER_FEATURES[tier], rng.randint(0, 1))
    features = [f.format(**words) for f in [*own, *shared, *extra]]
    rng.shuffle(features)
    templates = rng.sample(DESCRIPTION_TEMPLATES, rng.randint(1, 3))
    description = [t.format(**words) for t in templates]
    return features[:6], description


def text_length(record: Record) -> int:
    """Return the characters of description, features and details the curation step counts."""
    details = "\n".join(f"{k}: {v}" for k, v in record["details"].items())
    return len("\n".join(record["description"] + record["features"])) + len(details)


def make_title(rng: random.Random, words: dict[str, str], seen: set[str]) -> str:
    """Return a title not yet in ``seen``, falling back to one that names the model."""
    for _ in range(20):
        title = rng.choice(TITLE_TEMPLATES).format(**words)
        if title not in seen:
            return title
    return f"{words['brand']} {words['noun']} {words['size']} Model {words['model']}"


def make_record(rng: random.Random, category: Category, seen: set[str]) -> Record:
    """Compose one listing in the Amazon Reviews 2023 metadata shape (split set later)."""
    ptype = pick_type(rng, category)
    tier_index = rng.choices(range(3), weights=TIER_WEIGHTS)[0]
    tier = TIERS[tier_index]
    brand = rng.choice((category.budget, category.mid, category.premium)[tier_index])
    size_index = rng.randrange(len(ptype.sizes))
    size_pos = size_index / max(len(ptype.sizes) - 1, 1)
    uses = rng.sample(ptype.uses, 2)
    material = rng.choice(category.materials)
    words = {
        "brand": brand,
        "noun": ptype.noun,
        "size": ptype.sizes[size_index],
        "material": material,
        "mat": " ".join(w[:1].upper() + w[1:] for w in material.split()),
        "color": rng.choice(category.colors),
        "tier": TIER_ADJECTIVES[tier],
        "word": rng.choice(TIER_WORDS[tier]),
        "extra": rng.choice(category.extras),
        "use": uses[0],
        "use2": uses[1],
        "use_short": uses[0],
        "model": make_model(rng, brand),
    }
    features, description = make_text(rng, category, ptype, tier, words)
    record: Record = {
        "title": make_title(rng, words, seen),
        "main_category": category.name,
        "features": features,
        "description": description,
        "details": make_details(rng, ptype, words, size_pos),
        "price": price_for(rng, ptype, tier_index, size_pos),
        "store": rng.choice((brand, brand, f"{brand} Store", f"{brand} Official")),
        "split": "train",
    }
    seen.add(record["title"])
    return record


def make_records(seed: int = SEED) -> list[Record]:
    """Return all records: balanced categories, shuffled, split, a few without a price."""
    rng = random.Random(seed)
    seen: set[str] = set()
    records: list[Record] = []
    while len(records) < TOTAL:
        category = CATEGORIES[len(records) % len(CATEGORIES)]
        record = make_record(rng, category, seen)
        if MIN_TEXT <= text_length(record) <= MAX_TEXT:
            records.append(record)
        else:
            seen.discard(record["title"])
    rng.shuffle(records)
    for index, record in enumerate(records):
        record["split"] = "train" if index < TRAIN else "test"
    for index in rng.sample(range(TRAIN), NO_PRICE):
        records[index]["price"] = None
    return records


def encode(records: list[Record]) -> bytes:
    """Return the records as gzip-compressed JSON lines with a fixed, nameless header."""
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(lines.encode("utf-8"))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> None:
    """Write the sample to --out (default: the shipped file) and print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .gz")
    args = parser.parse_args(argv)
    data = encode(make_records())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {TOTAL} records, {len(data):,} bytes to {args.out}")


if __name__ == "__main__":
    main()
