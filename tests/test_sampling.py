from __future__ import annotations

from collections import Counter

import pytest

from ftkit.errors import SamplingError
from ftkit.items import Item
from ftkit.sampling import band_of, content_key, split_items


def items(count: int) -> list[Item]:
    return [Item(f"item {i}", float(1 + (i * 37) % 900), prompt=f"p{i}") for i in range(count)]


def test_first_reproduces_the_course_slices() -> None:
    source = items(100)
    split = split_items(source, train=50, validation=10, strategy="first")
    assert split.train == source[:50]
    assert split.validation == source[50:60]


@pytest.mark.parametrize("strategy", ["random", "stratified"])
def test_seeded_strategies_are_reproducible(strategy: str) -> None:
    source = items(300)
    one = split_items(source, train=50, validation=10, seed=7, strategy=strategy)  # type: ignore[arg-type]
    two = split_items(source, train=50, validation=10, seed=7, strategy=strategy)  # type: ignore[arg-type]
    other = split_items(source, train=50, validation=10, seed=8, strategy=strategy)  # type: ignore[arg-type]
    assert one == two
    assert one.train != other.train


@pytest.mark.parametrize("strategy", ["first", "random", "stratified"])
def test_duplicates_never_cross_the_split(strategy: str) -> None:
    source = items(40)
    source = source + [Item(i.title, i.price, prompt=i.prompt) for i in source]  # all doubled
    split = split_items(source, train=20, validation=15, strategy=strategy)  # type: ignore[arg-type]
    train_keys = {content_key(i) for i in split.train}
    assert not train_keys & {content_key(i) for i in split.validation}
    assert len(split.validation) == 15


def test_stratified_keeps_price_bands_in_proportion() -> None:
    source = items(1000)
    split = split_items(source, train=200, validation=50, strategy="stratified")
    whole = Counter(band_of(i.price) for i in source)
    drawn = Counter(band_of(i.price) for i in split.train)
    for band, count in whole.items():
        assert abs(drawn[band] / 200 - count / 1000) <= 0.01


@pytest.mark.parametrize(
    ("train", "validation", "message"),
    [(90, 20, "only 100"), (0, 5, "at least 1"), (5, -1, "at least 0")],
)
def test_impossible_splits(train: int, validation: int, message: str) -> None:
    with pytest.raises(SamplingError, match=message):
        split_items(items(100), train=train, validation=validation)


def test_too_few_distinct_items() -> None:
    source = items(10) * 3
    with pytest.raises(SamplingError, match="distinct"):
        split_items(source, train=10, validation=5)


def test_band_labels() -> None:
    assert [band_of(p) for p in (5, 10, 99.99, 600)] == ["$0–10", "$10–25", "$50–100", "$500+"]
