"""Hostile pickles: each is refused in one line naming the file, in bounded time and memory.

Covers issue 16: a tuple DAG title that hung ``prepare`` (item 5), titles that are lists or
missing (item 7), a pickle cut short or shrinking while read (item 11), and bounds on the
pickle's objects, stack and memo.
"""

from __future__ import annotations

import ast
import os
import pickle
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks import course
from ftkit.errors import SourceError
from ftkit.sources import pickles
from ftkit.sources.load import content_hash, load_items
from ftkit.sources.pickles import loads_course_pickle

ROOT = Path(__file__).resolve().parent.parent


def course_pickle(items: list[course.Item], protocol: int = pickle.DEFAULT_PROTOCOL) -> bytes:
    course.register()
    try:
        return pickle.dumps(items, protocol=protocol)
    finally:
        course.unregister()


def tuple_dag(levels: int) -> Any:
    """Return nested tuples with 8**levels leaves that pickle to a few bytes per level."""
    node: Any = "leaf"
    for _ in range(levels):
        node = (node,) * 8
    return node


def with_item(change: Callable[[course.Item], None]) -> bytes:
    """Return a pickle of three course items, the second changed by ``change``."""
    items = course.make_items(3, text_chars=40)
    change(items[1])
    return course_pickle(items)


def refusal(data: bytes, label: str = "hostile.pkl") -> str:
    """Return the one line that loading ``data`` is refused with."""
    with pytest.raises(SourceError) as caught:
        loads_course_pickle(data, label)
    message = str(caught.value)
    assert message.startswith(f"{label}: ") and "\n" not in message and len(message) < 300
    return message


def _set(name: str, value: object) -> Callable[[course.Item], None]:
    return lambda item: setattr(item, name, value)


def _delete(name: str) -> Callable[[course.Item], None]:
    return lambda item: delattr(item, name)


def _key(key: object) -> Callable[[course.Item], None]:
    def change(item: course.Item) -> None:
        attributes: dict[Any, Any] = item.__dict__
        attributes[key] = "x"

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("title", tuple_dag(41)), "item 2's 'title' is a tuple; ftkit loads only text"),
        (_set("title", ["Kettle"]), "item 2's 'title' is a list; ftkit loads only text"),
        (_delete("title"), "item 2 has no title"),
        (_delete("price"), "item 2 has no price"),
        (_delete("prompt"), "item 2 has no prompt"),
        (_set("title", None), "item 2's title is None, not text"),
        (_set("title", 12), "item 2's title is a int, not text"),
        (_set("category", 3.5), "item 2's category is a float, not text"),
        (_set("details", b"bytes"), "item 2's 'details' is a bytes; ftkit loads only text"),
        (_set("price", (1.0,)), "item 2's 'price' is a tuple"),
        (_set("price", {"amount": 5}), "item 2's 'price' is a dict"),
        (_set("prompt", bytearray(b"Q")), "refused to load 'builtins.bytearray'"),
        (_set("token_count", [1] * 5), "item 2's 'token_count' is a list"),
        (_set("include", frozenset({1})), "item 2's 'include' is a frozenset"),
        (_set("extra", course.make_items(1)[0]), "item 2's 'extra' is a Item"),
        (_key(7), "item 2 has an attribute named by a int, not text"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_an_item_that_is_not_plain_text_and_numbers_is_refused(
    change: Callable[[course.Item], None], message: str
) -> None:
    assert message in refusal(with_item(change))


def test_a_title_dag_with_8_to_the_41_leaves_is_refused_quickly(tmp_path: Path) -> None:
    source = tmp_path / "dag.pkl"
    source.write_bytes(with_item(_set("title", tuple_dag(41))))
    assert source.stat().st_size < 10_000
    out = tmp_path / "out"
    started = time.monotonic()
    command = ["prepare", "--source", str(source), "--out", str(out), "--no-history"]
    done = subprocess.run(
        [sys.executable, "-m", "ftkit", *command, "--train", "1", "--validation", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - started < 60
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"ftkit: error: {source}: item 2's 'title' is a tuple; " + (
        "ftkit loads only text and numbers\n"
    )
    assert not out.exists() or list(out.iterdir()) == []


def test_a_pickle_too_large_to_scan_is_still_refused_for_what_its_items_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pickles, "SCAN_BYTES", 0)  # as for the course's 800 MB training set
    assert "item 2's 'title' is a tuple" in refusal(with_item(_set("title", tuple_dag(41))))
    assert "item 2's 'price' is a dict" in refusal(with_item(_set("price", {"amount": 5})))
    data = course_pickle(course.make_items(2, text_chars=20))
    assert "not a readable pickle" in refusal(data[: len(data) // 2], "cut.pkl")


def _opcodes(*parts: bytes) -> bytes:
    return b"\x80\x04" + b"".join(parts) + b"."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # a memo index far beyond the pickle would make the unpickler allocate gigabytes
        (_opcodes(b"N", b"r" + struct.pack("<I", 0xFFFF_FFF0)), "a memo index (4,294,967,280)"),
        (_opcodes(b"N", b"r" + struct.pack("<I", 1 << 27)), "a memo index (134,217,728)"),
        (_opcodes(b"N", b"p99999999\n"), "a memo index (99,999,999) beyond the pickle"),
        (_opcodes(b"N", b"q\xff"), "a memo index (255) beyond the pickle"),
        # a stack (or nesting) deeper than any course pickle's
        (_opcodes(b"]" * 100_001, b"a" * 100_000), "nested deeper than 100,000 objects"),
        (_opcodes(b"(" * 100_001, b"N"), "nested deeper than 100,000 objects"),
        # lengths that promise more bytes than the file holds: refused before any allocation
        (_opcodes(b"\x96" + struct.pack("<Q", 1 << 40)), "not a readable pickle"),
        (_opcodes(b"\x8d" + struct.pack("<Q", 1 << 40)), "not a readable pickle"),
        (_opcodes(b"\x8e" + struct.pack("<Q", 1 << 40)), "not a readable pickle"),
        (_opcodes(b"\x95" + struct.pack("<Q", 1 << 40), b"N"), "not a readable pickle"),
        (_opcodes(b"X" + struct.pack("<I", 1 << 31)), "not a readable pickle"),
        # opcodes that do not fit together, and huge decimal numbers
        (_opcodes(b"e"), "not a readable pickle"),
        (_opcodes(b"0"), "not a readable pickle"),
        (_opcodes(b"L" + b"9" * 100_000 + b"L\n"), "not a readable pickle"),
        (b"\x80\x04\xff.", "not a readable pickle"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_pickle_beyond_ftkits_bounds_is_refused_before_loading(data: bytes, message: str) -> None:
    started = time.monotonic()
    assert message in refusal(data)
    assert time.monotonic() - started < 10


def test_more_objects_than_the_bound_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = course_pickle(course.make_items(100, text_chars=20))
    assert len(loads_course_pickle(data)) == 100
    monkeypatch.setattr(pickles, "MAX_OPCODES", 1_000)
    assert "refused, over 1,000 objects in the pickle" in refusal(data)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_course_pickles_of_every_protocol_stay_within_the_bounds(protocol: int) -> None:
    items = course.make_items(2_500, text_chars=20)  # more than the pickler's batch of 1,000
    loaded = loads_course_pickle(course_pickle(items, protocol))
    assert [item.title for item in loaded] == [item.title for item in items]


def test_a_pickle_cut_at_any_byte_is_one_line() -> None:
    data = course_pickle(course.make_items(2, text_chars=20))
    for end in range(len(data)):
        assert "not a readable pickle" in refusal(data[:end], "cut.pkl")


def test_bytes_after_the_end_of_the_pickle_are_ignored_as_pickle_does() -> None:
    data = course_pickle(course.make_items(2, text_chars=20))
    assert len(loads_course_pickle(data + b"trailing")) == 2


_READ_WHILE_CUT = """
import sys, time
from ftkit.errors import SourceError
from ftkit.sources.load import content_hash, load_items
counts = {"loaded": 0, "hashed": 0}
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    for name, read in (("loaded", load_items), ("hashed", content_hash)):
        try:
            read(sys.argv[1])
            counts[name] += 1
        except SourceError as err:
            line = str(err)
            assert line.startswith(sys.argv[1] + ": ") and "\\n" not in line, line
            counts[line.split(": ", 1)[1].split(" (")[0]] = 1
print(counts)
"""


def test_a_pickle_cut_short_again_and_again_while_read_never_crashes(tmp_path: Path) -> None:
    data = course_pickle(course.make_items(5_000, text_chars=400))
    path = tmp_path / "shrinking.pkl"
    path.write_bytes(data)
    reader = subprocess.Popen(  # a memory-mapped read died of SIGBUS here within a second
        [sys.executable, "-c", _READ_WHILE_CUT, str(path), "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cuts = 0
    while reader.poll() is None:
        with path.open("r+b") as handle:
            handle.write(data)
        time.sleep(0.002)
        os.truncate(path, len(data) // 10)
        cuts += 1
        time.sleep(0.002)
    out, err = reader.communicate()
    assert reader.returncode == 0, err  # -7 is SIGBUS
    outcomes = ast.literal_eval(out)
    assert cuts > 10 and outcomes["hashed"] > 0 and sum(outcomes.values()) > outcomes["hashed"]


def test_the_hash_covers_exactly_the_bytes_loaded(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(course.make_items(5)))
    loaded = load_items(path)
    assert loaded.content_hash == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.content_hash == content_hash(path)


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        (0.004, "price under one cent"),
        (0.0, "price zero or negative"),
        (-5, "price zero or negative"),
        (1e300, "price over $1,000,000,000"),
        (float("inf"), "unparseable price"),
        (float("nan"), "no price"),
        ("12.00", "unparseable price"),
        (None, "unparseable price"),
    ],
)
def test_pickled_prices_follow_the_tables_rule(tmp_path: Path, price: object, reason: str) -> None:
    items = course.make_items(3, text_chars=40)
    items[1].price = price  # type: ignore[assignment]
    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(items))
    loaded = load_items(path)
    assert loaded.dropped == {reason: 1}
    assert [item.title for item in loaded.items] == [items[0].title, items[2].title]


def test_a_pickle_whose_every_price_is_unusable_is_one_line(tmp_path: Path) -> None:
    items = course.make_items(2, text_chars=40)
    for item in items:
        item.price = 0.001
    path = tmp_path / "train.pkl"
    path.write_bytes(course_pickle(items))
    with pytest.raises(SourceError) as caught:
        load_items(path)
    assert str(caught.value) == (
        f"{path}: no usable rows, all 2 were dropped (2 price under one cent)"
    )


SECRET = "sk-live-SECRET-IN-THE-PICKLE"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_item(_set("title", [SECRET])), "item 2's 'title' is a list"),
        (with_item(_set("details", (SECRET,) * 3)), "item 2's 'details' is a tuple"),
        (with_item(_delete("title")), "item 2 has no title"),
        (with_item(_set("title", tuple_dag(41))), "item 2's 'title' is a tuple"),
        (_opcodes(b"N", b"r" + struct.pack("<I", 0xFFFF_FFF0)), "a memo index"),
        (course_pickle(course.make_items(3))[:-40], "not a readable pickle"),
    ],
    ids=["list title", "tuple details", "no title", "dag title", "memo index", "truncated"],
)
def test_prepare_refuses_a_hostile_pickle_in_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, message: str
) -> None:
    from ftkit.cli import main

    source = tmp_path / "hostile.pkl"
    source.write_bytes(data)
    out = tmp_path / "out"
    code = main(["prepare", "--source", str(source), "--out", str(out), "--no-history"])
    stdout, stderr = capsys.readouterr()
    assert code == 2 and stdout == ""
    assert stderr.startswith(f"ftkit: error: {source}: ") and stderr.count("\n") == 1
    assert message in stderr and SECRET not in stderr
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("name", ["endless.pkl", "endless.csv"])
def test_a_path_that_is_not_a_regular_file_is_one_line(tmp_path: Path, name: str) -> None:
    zeros = tmp_path / name
    zeros.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(
        SourceError, match=f"^{zeros}: is a device, not a regular file; give a file$"
    ):
        load_items(zeros)
    fifo = tmp_path / f"pipe-{name}"
    os.mkfifo(fifo)
    with pytest.raises(
        SourceError, match=f"^{fifo}: is a named pipe, not a regular file; give a file$"
    ):
        load_items(fifo)
    with pytest.raises(
        SourceError, match=f"^{fifo}: is a named pipe, not a regular file; give a file$"
    ):
        pickles.load_course_pickle(fifo)


@pytest.mark.parametrize(
    "data",
    [
        _opcodes(b"I" + SECRET.encode() + b"\n"),
        _opcodes(b"F" + SECRET.encode() + b"\n"),
        _opcodes(b"p" + SECRET.encode() + b"\n"),
        _opcodes(b"V" + SECRET.encode()),
        b"\x80\x04\x8c\x1c" + SECRET.encode(),
    ],
    ids=["int", "float", "put", "unicode line", "cut short"],
)
def test_a_corrupt_pickle_is_refused_without_quoting_it(data: bytes) -> None:
    message = refusal(data)
    assert "not a readable pickle (corrupt or cut short after" in message
    assert "SECRET" not in message


def test_items_of_different_shapes_load_when_each_is_plain() -> None:
    items = course.make_items(3, text_chars=20)
    del items[1].details  # an optional field missing from one item only
    items[2].extra = "kept"
    loaded = loads_course_pickle(course_pickle(items))
    assert [item.title for item in loaded] == [item.title for item in items]
