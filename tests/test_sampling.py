from __future__ import annotations

from collections import Counter

import pytest

from ftkit.dataset.sampling import STRATEGIES, Strategy, band_of, content_key, held_out, split_items
from ftkit.errors import SamplingError
from ftkit.items import Item


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


def doubled(count: int) -> list[Item]:
    """Return ``count`` items, then a copy of every third one (same content, new object)."""
    source = items(count)
    return source + [Item(i.title, i.price, prompt=i.prompt) for i in source[::3]]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("source", [items(120), doubled(120)], ids=["distinct", "duplicates"])
def test_the_three_parts_never_share_content(strategy: Strategy, source: list[Item]) -> None:
    split = split_items(source, train=40, validation=10, seed=5, strategy=strategy)
    test = held_out(source, split, seed=5, strategy=strategy)
    train, validation = ({content_key(i) for i in part} for part in (split.train, split.validation))
    tested = {content_key(i) for i in test}
    assert not train & validation and not train & tested and not validation & tested
    # every item of the source lands in one of the three parts
    assert train | validation | tested == {content_key(i) for i in source}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_held_out_order_is_the_same_on_every_call(strategy: Strategy) -> None:
    source = items(200)
    split = split_items(source, train=30, validation=5, seed=9, strategy=strategy)
    first = held_out(source, split, seed=9, strategy=strategy)
    assert first == held_out(source, split, seed=9, strategy=strategy)
    assert len(first) == 165


def test_first_holds_out_the_rest_of_the_source_in_order() -> None:
    source = items(100)
    split = split_items(source, train=50, validation=10, strategy="first")
    assert split.train == source[:50] and split.validation == source[50:60]
    assert held_out(source, split, strategy="first") == source[60:]


def test_first_leaves_out_later_copies_of_training_items() -> None:
    source = items(30)
    copy = Item(source[3].title, source[3].price, prompt=source[3].prompt)
    source.insert(25, copy)
    split = split_items(source, train=10, validation=5, strategy="first")
    test = held_out(source, split, strategy="first")
    assert copy not in test and len(test) == len(source) - 15 - 1


def test_random_holds_out_a_seeded_sample_not_the_source_order() -> None:
    source = items(300)
    split = split_items(source, train=50, validation=10, seed=1, strategy="random")
    test = held_out(source, split, seed=1, strategy="random")
    assert test[:20] != [i for i in source if i in test][:20]


def test_nothing_is_held_out_when_the_split_takes_every_item() -> None:
    source = items(60)
    split = split_items(source, train=50, validation=10)
    assert held_out(source, split) == []
