"""Compose ftkit's built-in sample: 1,400 synthetic product listings, byte-reproducible.

Run ``python tools/make_sample.py`` to rewrite ``ftkit/data/sample_items.jsonl.gz``, or pass
``--out PATH`` to write elsewhere. Everything comes from the hand-written parts in
``sample_catalog.py`` and one ``random.Random(42)``; the gzip header carries no name or time.

The prices carry a real catalogue's noise, so no baseline can read them off the text: a product's
price follows its type, size and brand tier but also a quality the listing never states; every
seller marks it up or down; some listings are renewed units or multi-packs; about one listing in
five is another seller's near-duplicate of an earlier product at its own price; and words such as
"Premium" or "Basic" are chosen with little regard to the brand's real tier.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
from dataclasses import dataclass
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
MAX_PRICE = 999.0  # the course kept items under $1,000
QUALITY_SD = 0.5  # ln-price spread of the unstated quality of a product
SELLER_SD = 0.4  # ln-price spread of one seller's markup or discount
RELIST_SHARE = 0.2  # share of listings that relist an earlier product
HONEST_CLAIM = 0.4  # chance that a listing's marketing words match the brand's real tier
CONDITIONS = (("", 1.0, 1.0), (" (Renewed)", 0.5, 0.8), (" - Open Box", 0.7, 0.9))
CONDITION_WEIGHTS = (90, 7, 3)
PACKS = (("", 1.0, 1.0), (", Pack of 2", 1.6, 2.0), (", Pack of 3", 2.2, 2.9))
PACK_WEIGHTS = (80, 14, 6)
PACK_MAX_HI = 60  # product types that top out at $60 or less may come in packs
RENEWED_MIN_LO = 30  # product types that start at $30 or more may be sold renewed or open box

TIERS = ("budget", "mid", "premium")
TIER_WEIGHTS = (5, 4, 2)
TIER_ADJECTIVES = {"budget": "budget-friendly", "mid": "dependable", "premium": "premium"}
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
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


@dataclass(frozen=True)
class Product:
    """One product that one or more listings sell: its fixed words and its list price."""

    category: Category
    ptype: ProductType
    tier: int
    size_pos: float
    words: dict[str, str]
    price: float


def pick_type(rng: random.Random, category: Category) -> ProductType:
    """Pick a product type, leaning toward dear ones so prices get a long right tail."""
    weights = [(t.lo * t.hi) ** 0.25 for t in category.types]
    return rng.choices(category.types, weights=weights)[0]


def product_price(rng: random.Random, ptype: ProductType, tier: int, size_pos: float) -> float:
    """Return a list price: size and brand tier place it in the type's range, quality spreads it."""
    position = 0.2 + 0.35 * size_pos + 0.45 * tier / 2
    return ptype.lo * (ptype.hi / ptype.lo) ** position * rng.lognormvariate(0, QUALITY_SD)


def round_price(rng: random.Random, raw: float) -> float:
    """Return ``raw`` with an Amazon-style ending such as .99, .95 or .49."""
    ending = rng.choices((0.99, 0.95, 0.49, 0.0, 0.5, -1.0), weights=(45, 8, 10, 17, 5, 15))[0]
    cents = rng.randrange(100) / 100 if ending < 0 else ending
    return round(max(int(raw), 0) + cents, 2)


def pick_offer(rng: random.Random, ptype: ProductType) -> tuple[str, float]:
    """Return a title suffix and price factor: a pack of a cheap item, a renewed dear one."""
    if ptype.hi <= PACK_MAX_HI:
        suffix, lo, hi = rng.choices(PACKS, weights=PACK_WEIGHTS)[0]
    elif ptype.lo >= RENEWED_MIN_LO:
        suffix, lo, hi = rng.choices(CONDITIONS, weights=CONDITION_WEIGHTS)[0]
    else:
        return "", 1.0
    return suffix, rng.uniform(lo, hi)


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


def make_title(rng: random.Random, words: dict[str, str], suffix: str, seen: set[str]) -> str:
    """Return a title ending in ``suffix`` not yet in ``seen``, else one that names the model."""
    for _ in range(20):
        title = rng.choice(TITLE_TEMPLATES).format(**words) + suffix
        if title not in seen:
            return title
    return f"{words['brand']} {words['noun']} {words['size']} Model {words['model']}{suffix}"


def make_product(rng: random.Random, category: Category) -> Product:
    """Compose a product: type, brand tier, size, fixed words and a list price."""
    ptype = pick_type(rng, category)
    tier = rng.choices(range(3), weights=TIER_WEIGHTS)[0]
    brand = rng.choice((category.budget, category.mid, category.premium)[tier])
    size_index = rng.randrange(len(ptype.sizes))
    size_pos = size_index / max(len(ptype.sizes) - 1, 1)
    material = rng.choice(category.materials)
    words = {
        "brand": brand,
        "noun": ptype.noun,
        "size": ptype.sizes[size_index],
        "material": material,
        "mat": " ".join(w[:1].upper() + w[1:] for w in material.split()),
        "color": rng.choice(category.colors),
        "model": make_model(rng, brand),
    }
    price = product_price(rng, ptype, tier, size_pos)
    return Product(category, ptype, tier, size_pos, words, price)


def listing_words(rng: random.Random, product: Product) -> tuple[str, dict[str, str]]:
    """Return the tier a listing claims and its words; the claim often ignores the real tier."""
    claimed = TIERS[product.tier if rng.random() < HONEST_CLAIM else rng.randrange(3)]
    uses = rng.sample(product.ptype.uses, 2)
    words = {
        **product.words,
        "tier": TIER_ADJECTIVES[claimed],
        "word": rng.choice(TIER_WORDS[claimed]),
        "extra": rng.choice(product.category.extras),
        "use": uses[0],
        "use2": uses[1],
        "use_short": uses[0],
    }
    return claimed, words


def make_record(rng: random.Random, product: Product, seen: set[str]) -> Record:
    """Compose one seller's listing of ``product`` in the Amazon Reviews 2023 metadata shape."""
    claimed, words = listing_words(rng, product)
    features, description = make_text(rng, product.category, product.ptype, claimed, words)
    suffix, factor = pick_offer(rng, product.ptype)
    brand = words["brand"]
    raw = product.price * factor * rng.lognormvariate(0, SELLER_SD)
    return {
        "title": make_title(rng, words, suffix, seen),
        "main_category": product.category.name,
        "features": features,
        "description": description,
        "details": make_details(rng, product.ptype, words, product.size_pos),
        "price": round_price(rng, raw),
        "store": rng.choice((brand, brand, f"{brand} Store", f"{brand} Official", "Generic")),
        "split": "train",
    }


def is_usable(record: Record) -> bool:
    """Return True when the record has the text length and price range the sample keeps."""
    return MIN_TEXT <= text_length(record) <= MAX_TEXT and 1 <= record["price"] <= MAX_PRICE


def make_listings(rng: random.Random) -> list[Record]:
    """Return TOTAL listings, categories in turn; some relist an earlier product."""
    seen: set[str] = set()
    products: dict[str, list[Product]] = {c.name: [] for c in CATEGORIES}
    records: list[Record] = []
    while len(records) < TOTAL:
        category = CATEGORIES[len(records) % len(CATEGORIES)]
        earlier = products[category.name]
        relist = bool(earlier) and rng.random() < RELIST_SHARE
        product = rng.choice(earlier) if relist else make_product(rng, category)
        record = make_record(rng, product, seen)
        if is_usable(record):
            records.append(record)
            seen.add(record["title"])
            if not relist:
                earlier.append(product)
    return records


def make_records(seed: int = SEED) -> list[Record]:
    """Return all records: balanced categories, shuffled, split, a few without a price."""
    rng = random.Random(seed)
    records = make_listings(rng)
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
