"""Draw the three-part split: train, validation, and the held-out rest that evaluation scores.

Train and validation are the course's slices, seeded random, or by price band; the held-out
part is every other item of the source whose title is in neither of them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from ftkit.errors import SamplingError
from ftkit.items import Item

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_STRATEGY",
    "DEFAULT_TRAIN",
    "DEFAULT_VALIDATION",
    "PRICE_BANDS",
    "STRATEGIES",
    "Split",
    "SplitSettings",
    "Strategy",
    "band_of",
    "content_key",
    "fit_sizes",
    "held_out",
    "held_out_share",
    "split_items",
    "title_key",
]

Strategy = Literal["first", "random", "stratified"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

# The lecture's split: the first 500 items train, the next 50 validate.
DEFAULT_TRAIN = 500
DEFAULT_VALIDATION = 50
DEFAULT_SEED = 42
DEFAULT_STRATEGY: Strategy = "first"

# Upper bounds of the price bands, in dollars; the last band is open-ended.
PRICE_BANDS: tuple[float, ...] = (10, 25, 50, 100, 250, 500)


@dataclass(frozen=True)
class Split:
    """The drawn items, and how many duplicates were skipped to keep the two apart."""

    train: list[Item]
    validation: list[Item]
    skipped_duplicates: int = 0


@dataclass(frozen=True)
class SplitSettings:
    """How a split is drawn: its sizes, seed and strategy (``prepare``'s defaults)."""

    train: int = DEFAULT_TRAIN
    validation: int = DEFAULT_VALIDATION
    seed: int = DEFAULT_SEED
    strategy: Strategy = DEFAULT_STRATEGY

    def describe(self) -> str:
        """Return e.g. "500 train + 50 validation items (sampling first, seed 42)"."""
        return (
            f"{self.train:,} train + {self.validation:,} validation items "
            f"(sampling {self.strategy}, seed {self.seed})"
        )


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


def title_key(item: Item) -> str:
    """Return an item's title without case or extra spaces: what makes two listings the same."""
    return " ".join(item.title.casefold().split())


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


def _order(items: Sequence[Item], strategy: Strategy, seed: int) -> Iterator[int]:
    """Yield the indices of ``items`` in the order ``strategy`` draws them."""
    if strategy == "first":
        return iter(range(len(items)))
    rng = random.Random(seed)
    if strategy == "random":
        return iter(rng.sample(range(len(items)), len(items)))
    return _stratified_order(items, rng)


def split_items(
    items: Sequence[Item],
    *,
    train: int = DEFAULT_TRAIN,
    validation: int = DEFAULT_VALIDATION,
    seed: int = DEFAULT_SEED,
    strategy: Strategy = DEFAULT_STRATEGY,
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
    if strategy == "first":
        chosen_train = list(items[:train])
        seen = {content_key(item) for item in chosen_train} if validation else set()
        chosen_val, skipped = _take_unique(range(train, len(items)), items, validation, seen)
    else:
        # one shuffled stream; train takes its first distinct items, validation the next ones
        order = _order(items, strategy, seed)
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


def held_out(
    items: Sequence[Item],
    split: Split,
    *,
    seed: int = DEFAULT_SEED,
    strategy: Strategy = DEFAULT_STRATEGY,
) -> list[Item]:
    """Return the split's third part: every item whose title is in neither train nor validation.

    A title is compared without case or extra spaces, so the same listing at another price (a
    duplicate row, a relisting) is never scored as unseen. The items come in the order
    ``strategy`` (with ``seed``) draws them, so the first N are the same on every call: the
    source's order for ``first``, the seeded stream for the others. Pass the ``seed`` and
    ``strategy`` the split was drawn with.
    """
    seen = {title_key(item) for item in (*split.train, *split.validation)}
    return [items[i] for i in _order(items, strategy, seed) if title_key(items[i]) not in seen]


def held_out_share(available: int) -> int:
    """Return how many of ``available`` items fitted sizes leave for testing: a fifth from 10."""
    if available >= 10:
        return available // 5
    return 1 if available >= 3 else 0


def fit_sizes(
    train: int, validation: int, available: int, *, keep_fitting: bool = True
) -> tuple[int, int]:
    """Return (train, validation) fitted together to ``available`` items.

    Sizes that fit are kept (unless ``keep_fitting`` is False). Otherwise ``held_out_share``
    items are left for testing, validation keeps its share of the rest, rounded, and train
    gets what remains: at least one item for train, and one for validation if it asked for any
    and there is room (500 + 50 of 50 items gives 36 + 4, and 10 are held out).
    """
    if available < 1 or (keep_fitting and train + validation <= available):
        return train, validation
    room = available - held_out_share(available)
    share = round(room * validation / max(train + validation, 1))
    if validation and room >= 2:
        share = max(1, share)
    share = min(share, room - 1)
    return room - share, share
