"""The Data page refuses a hostile course pickle in one line and keeps the previous dataset."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import Any

import pytest
from apptest_support import errors, open_app

from benchmarks import course


def _pickle_with_title(title: Any) -> bytes:
    items = course.make_items(3, text_chars=40)
    items[1].title = title
    course.register()
    try:
        return pickle.dumps(items)
    finally:
        course.unregister()


def _dag(levels: int) -> Any:
    node: Any = "leaf"
    for _ in range(levels):
        node = (node,) * 8
    return node


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_pickle_with_title(_dag(41)), "item 2's 'title' is a tuple; ftkit loads only text"),
        (_pickle_with_title(["Kettle"]), "item 2's 'title' is a list; ftkit loads only text"),
        (b"\x80\x04Nr" + struct.pack("<I", 0xFFFF_FFF0) + b".", "a memo index"),
    ],
    ids=["dag title", "list title", "memo index"],
)
def test_a_hostile_pickle_path_is_one_error_line(tmp_path: Path, data: bytes, message: str) -> None:
    source = tmp_path / "hostile.pkl"
    source.write_bytes(data)
    at = open_app()
    at.text_input(key="data_path").input(str(source))
    at.button[0].click().run(timeout=60)
    assert not at.exception
    [line] = errors(at)
    assert line.startswith(f"{source}: ") and message in line and "\n" not in line
    assert at.subheader[0].value == "built-in sample"  # the previous dataset stays
