"""Draw the train and validation split: the course's slices, seeded random, or by price band."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from ftkit.errors import SamplingError
from ftkit.items import Item

__all__ = [
    "PRICE_BANDS",
    "STRATEGIES",
    "Split",
    "Strategy",
    "band_of",
    "content_key",
    "split_items",
]

Strategy = Literal["first", "random", "stratified"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

# Upper bounds of the price bands, in dollars; the last band is open-ended.
PRICE_BANDS: tuple[float, ...] = (10, 25, 50, 100, 250, 500)


@dataclass(frozen=True)
class Split:
    """The drawn items, and how many duplicates were skipped to keep the two apart."""

    train: list[Item]
    validation: list[Item]
    skipped_duplicates: int = 0


def band_of(price: float) -> str:
    """Return the label of the price band holding ``price``, e.g. "$25–50"."""
    low = 0.0
    for high in PRICE_BANDS:
        if price < high:
            return f"${low:g}–{high:g}"
        low = high
    return f"${low:g}+"


def content_key(item: Item) -> tuple[str, str, float]:
    """Return what makes two items the same example: title, prompt text and price."""
    return (item.title, item.prompt or item.details, item.price)


def _take_unique(
    order: Iterable[int], items: Sequence[Item], count: int, seen: set[tuple[str, str, float]]
) -> tuple[list[Item], int]:
    chosen: list[Item] = []
    skipped = 0
    if count == 0:
        return chosen, 0
    for index in order:
        key = content_key(items[index])
        if key in seen:
            skipped += 1
            continue
        seen.add(key)
        chosen.append(items[index])
        if len(chosen) == count:
            break
    return chosen, skipped


def _stratified_order(items: Sequence[Item], rng: random.Random) -> Iterator[int]:
    """Yield indices so that every prefix holds price bands in proportion to the source."""
    bands: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        bands.setdefault(band_of(item.price), []).append(index)
    for members in bands.values():
        rng.shuffle(members)
    total = len(items)
    taken = dict.fromkeys(bands, 0)
    for position in range(1, total + 1):
        # pick the band furthest behind its share of the first `position` draws
        label = max(
            (b for b in bands if taken[b] < len(bands[b])),
            key=lambda b: len(bands[b]) * position / total - taken[b],
        )
        yield bands[label][taken[label]]
        taken[label] += 1


def split_items(
    items: Sequence[Item],
    *,
    train: int = 500,
    validation: int = 50,
    seed: int = 42,
    strategy: Strategy = "first",
) -> Split:
    """Draw ``train`` then ``validation`` items that never share content.

    ``first`` takes ``items[:train]`` then the next ``validation`` (skipping any item whose
    content is already in train); ``random`` shuffles with ``seed``; ``stratified`` keeps each
    split's price bands in proportion to the source. Raises ``SamplingError`` when there are
    too few items.
    """
    if strategy not in STRATEGIES:
        choices = ", ".join(STRATEGIES)
        raise SamplingError(f"sampling: unknown strategy '{strategy}' (use {choices})")
    if train < 1 or validation < 0:
        raise SamplingError("sampling: train must be at least 1 and validation at least 0")
    if train + validation > len(items):
        raise SamplingError(
            f"sampling: asked for {train:,} train + {validation:,} validation items, "
            f"but the source has only {len(items):,}"
        )
    rng = random.Random(seed)
    if strategy == "first":
        chosen_train = list(items[:train])
        seen = {content_key(item) for item in chosen_train} if validation else set()
        chosen_val, skipped = _take_unique(range(train, len(items)), items, validation, seen)
    else:
        # one shuffled stream; train takes its first distinct items, validation the next ones
        order: Iterator[int]
        if strategy == "random":
            order = iter(rng.sample(range(len(items)), len(items)))
        else:
            order = _stratified_order(items, rng)
        seen = set()
        chosen_train, skipped = _take_unique(order, items, train, seen)
        chosen_val, skipped_val = _take_unique(order, items, validation, seen)
        skipped += skipped_val
    if len(chosen_train) < train or len(chosen_val) < validation:
        raise SamplingError(
            f"sampling: asked for {train:,} train + {validation:,} validation items, but the "
            f"source has only {len(chosen_train) + len(chosen_val):,} distinct ones"
        )
    return Split(chosen_train, chosen_val, skipped)
