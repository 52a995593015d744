from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from benchmarks import course
from ftkit.errors import PickleRefusedError, SourceError
from ftkit.items import Item
from ftkit.sources.load import load_items
from ftkit.sources.pickles import load_course_pickle, loads_course_pickle


def course_pickle(items: list[course.Item]) -> bytes:
    course.register()
    try:
        return pickle.dumps(items)
    finally:
        course.unregister()


def test_course_pickle_loads_without_the_course_module(tmp_path: Path) -> None:
    items = course.make_items(3, seed=1)
    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(items))
    loaded = load_course_pickle(path)
    assert [type(i) for i in loaded] == [Item, Item, Item]
    assert [(i.title, i.price, i.category, i.prompt) for i in loaded] == [
        (i.title, i.price, i.category, i.prompt) for i in items
    ]
    assert loaded[0].test_prompt() == items[0].test_prompt()


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "train.pkl"
    path.write_bytes(pickle.dumps([_Evil(str(marker))]))
    with pytest.raises(PickleRefusedError) as info:
        load_course_pickle(path)
    assert "train.pkl" in str(info.value)
    assert "refused" in str(info.value)
    assert not marker.exists()


def test_evil_global_inside_a_list_of_items_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    course.register()
    try:
        data = pickle.dumps([*course.make_items(2), _Evil(str(marker))])
    finally:
        course.unregister()
    with pytest.raises(PickleRefusedError):
        loads_course_pickle(data, "mixed.pkl")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a pickle at all", "not a readable pickle"),
        (b"", "not a readable pickle"),
        (pickle.dumps({"a": 1}), "expected a list"),
        (pickle.dumps([1, 2]), "expected a list"),
    ],
)
def test_bad_pickles_give_one_clear_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(data)
    with pytest.raises(SourceError) as info:
        load_course_pickle(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_pickle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(course_pickle(course.make_items(5))[:300])
    with pytest.raises(SourceError, match="not a readable pickle"):
        load_items(path)


def test_pickles_can_be_disabled(tmp_path: Path) -> None:
    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(course.make_items(2)))
    with pytest.raises(SourceError, match="disabled"):
        load_items(path, allow_pickle=False)
    assert len(load_items(path).items) == 2


def test_items_without_a_usable_price_are_dropped_and_counted(tmp_path: Path) -> None:
    items = course.make_items(6)
    items[1].price = 0.0
    items[2].price = float("nan")
    items[3].price = "12.00"  # type: ignore[assignment]
    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(items))
    loaded = load_items(path)
    assert loaded.rows == 6
    assert loaded.dropped == {"price zero or negative": 1, "no price": 1, "unparseable price": 1}
    assert [i.title for i in loaded.items] == [items[n].title for n in (0, 4, 5)]


def test_an_item_whose_prompt_is_not_text_is_refused(tmp_path: Path) -> None:
    items = course.make_items(2)
    items[1].prompt = None  # type: ignore[assignment]
    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(items))
    with pytest.raises(SourceError, match="item 2's prompt is None, not text"):
        load_items(path)


def test_the_content_hash_is_taken_while_loading(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(course.make_items(50)))
    loaded = load_items(path)
    assert loaded.content_hash == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="the file is empty"):
        load_items(empty)


@pytest.mark.parametrize(
    ("prices", "kept"),
    [
        ([1.5, 2, 3.25], [0, 1, 2]),
        ([1.5, float("inf"), 3.0], [0, 2]),
        ([-1.0, 2.0], [1]),
        ([True, 2.0], [1]),
        ([10**400, 2.0], [1]),  # too big for a float
        ([1e308, 2.0, 3.0], [1, 2]),  # a sentinel, over MAX_PRICE
        ([1e9, 1e9, 0.01], [0, 1, 2]),  # the largest and smallest prices kept
        ([0.004, 2.0], [1]),  # $0.00 in the messages
        ([2.0, 0.0049], [0]),
        ([float("nan"), 2.0], [1]),
        ([2.0, float("nan")], [0]),
    ],
)
def test_the_quick_price_check_agrees_with_checking_each(
    tmp_path: Path, prices: list[object], kept: list[int]
) -> None:
    items = course.make_items(len(prices))
    for item, price in zip(items, prices, strict=True):
        item.price = price  # type: ignore[assignment]
    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(items))
    loaded = load_items(path)
    assert [i.title for i in loaded.items] == [items[n].title for n in kept]
    assert sum(loaded.dropped.values()) == len(prices) - len(kept)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
def test_the_file_is_neither_open_nor_mapped_after_loading(tmp_path: Path) -> None:
    path = tmp_path / "train.pkl"
    items = course.make_items(30)
    path.write_bytes(course_pickle(items))
    loaded = load_course_pickle(path)
    assert [item.prompt for item in loaded] == [item.prompt for item in items]
    assert str(path) not in Path("/proc/self/maps").read_text()
    open_files = [os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")]
    assert str(path) not in open_files
