"""Loading a course pickle in two parts (``ftkit.pickle_halves``): the same items, or None."""

from __future__ import annotations

import io
import pickle
import pickletools
import struct

import pytest

from benchmarks import course
from ftkit.errors import PickleRefusedError
from ftkit.items import Item
from ftkit.pickle_frames import Cut, Stream, find_cut
from ftkit.pickle_halves import Head, _Memo, load_rest_seeded
from ftkit.pickles import RestrictedUnpickler, loads_course_pickle

COUNT = 3000  # three batches of 1,000 items


def course_pickle(items: list[course.Item], protocol: int = 4) -> bytes:
    course.register()
    try:
        return pickle.dumps(items, protocol=protocol)
    finally:
        course.unregister()


def cuts(data: bytes) -> tuple[Cut, Cut]:
    first, cut = find_cut(data, 0), find_cut(data, len(data) // 2)
    assert first is not None and cut is not None and first.at < cut.at
    return first, cut


def as_dicts(items: list[Item]) -> list[dict[str, object]]:
    return [vars(item) for item in items]


def insert(data: bytes, position: int, opcodes: bytes) -> bytes:
    """Insert ``opcodes`` at an opcode boundary inside a frame, growing that frame."""
    header = 2
    while True:
        start = header + 9
        end = start + struct.unpack_from("<Q", data, header + 1)[0]
        if start <= position < end:
            length = struct.pack("<Q", end - start + len(opcodes))
            return data[: header + 1] + length + data[start:position] + opcodes + data[position:]
        header = end


def loaded_here_not_apart(data: bytes) -> list[Item]:
    """Assert the child would give up on ``data``'s second part; load it here instead."""
    first, cut = cuts(data)
    head = Head(data, cut, "x")
    loaded = head.load()
    assert loaded is not None
    assert load_rest_seeded(data, first, cut, head.memo_length(), "x") is None
    rest = head.load_rest()
    assert rest is not None
    return loaded + rest


def memo_index_of_item(data: bytes, number: int) -> int:
    """Return the memo index pickle gave the ``number``-th item (counting from 0)."""
    memoized = items = 0
    after_item = False
    for opcode, _, _ in pickletools.genops(io.BytesIO(data)):
        if opcode.name == "MEMOIZE":
            if after_item:
                return memoized
            memoized += 1
        after_item = opcode.name == "NEWOBJ" and (items := items + 1) == number + 1
    raise AssertionError("no such item")


@pytest.mark.parametrize("protocol", [4, 5])
def test_both_parts_load_as_the_whole(protocol: int) -> None:
    data = course_pickle(course.make_items(COUNT, seed=3), protocol)
    whole = loads_course_pickle(data)
    first, cut = cuts(data)
    head = Head(data, cut, "train.pkl")
    items = head.load()
    assert items is not None and 0 < len(items) < COUNT
    length = head.memo_length()
    rest = load_rest_seeded(data, first, cut, length, "train.pkl")
    assert rest is not None
    assert as_dicts(items + rest) == as_dicts(whole)
    assert head.memo_is_whole(length) and head.first_batch_matches(first)
    # the head can still load the rest itself after all those checks
    here = head.load_rest()
    assert here is not None and as_dicts(items + here) == as_dicts(whole)


@pytest.mark.parametrize("protocol", [2, 3])
def test_unframed_pickles_are_not_cut(protocol: int) -> None:
    assert find_cut(course_pickle(course.make_items(COUNT), protocol), 0) is None


def test_no_cut_past_the_last_batch() -> None:
    data = course_pickle(course.make_items(COUNT))
    assert find_cut(data, len(data)) is None
    assert find_cut(b"\x80\x04N.", 0) is None


def test_a_failed_probe_leaves_nothing_unread() -> None:
    data = course_pickle(course.make_items(10))
    stream = Stream([(data, 0, len(data))])
    unpickler = RestrictedUnpickler(stream, "x")
    memo = _Memo(unpickler, stream)
    unpickler.load()
    assert not memo.has(10_000)
    assert memo.has(0)  # before the fix the failed probe's STOP was read here: stack underflow
    assert not memo.spoiled


def test_rest_that_needs_a_head_object_is_not_loaded_apart() -> None:
    items = course.make_items(COUNT, seed=4)
    shared = "".join(["A category first seen ", "in the second batch"])  # one object, memoized
    items[1500].category = items[2500].category = shared
    assert loaded_here_not_apart(course_pickle(items))[2500].category == shared


def test_rest_that_changes_a_first_batch_item_is_not_loaded_apart() -> None:
    data = course_pickle(course.make_items(COUNT, seed=5))
    index = memo_index_of_item(data, 5)
    build = b"}\x8c\x05title\x8c\x04HACKsb0"  # {"title": "HACK"} BUILD onto item 5, then POP
    data = insert(data, len(data) - 1, b"j" + struct.pack("<I", index) + build)
    whole = loads_course_pickle(data)
    assert whole[5].title == "HACK"
    assert as_dicts(loaded_here_not_apart(data)) == as_dicts(whole)


def test_a_head_memo_with_a_gap_is_found() -> None:
    data = course_pickle(course.make_items(COUNT, seed=6))
    first, _ = cuts(data)
    # a string put at memo index 100,000, far past the others: the head's memo has a gap
    data = insert(data, first.at - 1, b"\x8c\x01xr" + struct.pack("<I", 100_000) + b"0")
    whole = loads_course_pickle(data)
    first, cut = cuts(data)
    head = Head(data, cut, "x")
    loaded = head.load()
    assert loaded is not None
    assert not head.memo_is_whole(head.memo_length())
    # the head still loads the rest as a whole-file load does (or, had a check spoiled its
    # unpickler, says so and the caller loads the whole file anew)
    try:
        rest = head.load_rest()
    except ValueError:
        return
    assert rest is not None and as_dicts(loaded + rest) == as_dicts(whole)


def test_a_refused_global_in_the_rest() -> None:
    items: list[object] = list(course.make_items(COUNT, seed=7))
    items[2500] = print  # pickled as the global builtins.print
    course.register()
    try:
        data = pickle.dumps(items, protocol=4)
    finally:
        course.unregister()
    first, cut = cuts(data)
    head = Head(data, cut, "train.pkl")
    assert head.load() is not None
    assert load_rest_seeded(data, first, cut, head.memo_length(), "train.pkl") is None
    with pytest.raises(PickleRefusedError, match=r"builtins\.print"):
        head.load_rest()


def test_a_cut_inside_a_nested_list_is_no_list_of_items() -> None:
    data = course_pickle({"train": course.make_items(COUNT)})  # type: ignore[arg-type]
    first, cut = cuts(data)
    head = Head(data, cut, "x")
    assert head.load() is not None  # the nested list's first part
    assert load_rest_seeded(data, first, cut, head.memo_length(), "x") is None
    with pytest.raises(pickle.UnpicklingError):  # the caller then loads the whole file
        head.load_rest()


def test_a_head_memo_with_an_object_past_its_end_is_found() -> None:
    data = course_pickle(course.make_items(COUNT, seed=8))
    _, cut = cuts(data)
    # the head's last act puts a string at memo index 100,000: no gap below its length, but
    # the rest would be numbered from one more than a whole memo's length
    data = insert(data, cut.at - 1, b"\x8c\x01xr" + struct.pack("<I", 100_000) + b"0")
    _, cut = cuts(data)
    head = Head(data, cut, "x")
    assert head.load() is not None
    length = head.memo_length()
    assert head._memo.has(length - 1) and not head._memo.has(length)  # looks whole ...
    assert not head.memo_is_whole(length)  # ... but holds one object more
