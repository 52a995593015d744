"""``prepare`` with a forked child loading the pickle's second part: what one process writes."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import course
from ftkit.cli import halves, pickle_child
from ftkit.errors import SamplingError
from ftkit.messages import Templates
from ftkit.prepare import PrepareResult, prepare

COUNT = 3000


@pytest.fixture(autouse=True)
def fork_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork from the test process, as ``python -m ftkit`` would from its own."""
    monkeypatch.setattr(halves, "fork_is_safe", lambda: True)


def write_pickle(path: Path, items: list[Any], protocol: int = 4) -> Path:
    course.register()
    try:
        path.write_bytes(pickle.dumps(items, protocol=protocol))
    finally:
        course.unregister()
    return path


def in_two(source: Path, out: Path, **options: Any) -> PrepareResult | None:
    settings: dict[str, Any] = {"train": COUNT, "validation": 0, "templates": Templates()}
    settings.update(options)
    return halves.prepare_in_two(
        source, out_dir=out, keep=lambda data: None, min_size=0, **settings
    )


def in_one(source: Path, out: Path, **options: Any) -> PrepareResult:
    settings: dict[str, Any] = {"train": COUNT, "validation": 0, "templates": Templates()}
    settings.update(options)
    return prepare(source, strategy="first", out_dir=out, **settings)


def same_as_one_process(result: PrepareResult | None, expected: PrepareResult) -> None:
    """The results agree in all but their folders, and so do the files they wrote."""
    assert result is not None
    paths = ("train_path", "validation_path")
    assert {k: v for k, v in dataclasses.asdict(result).items() if k not in paths} == {
        k: v for k, v in dataclasses.asdict(expected).items() if k not in paths
    }
    for name in paths:
        ours, theirs = getattr(result, name), getattr(expected, name)
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.read_bytes() == theirs.read_bytes()
    assert not [p for p in result.train_path.parent.iterdir() if p.name.startswith(".")]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_pickle(tmp_path / "train.pkl", course.make_items(COUNT, seed=11))


class Spy:
    """Counts how often the split fell back to loading the rest in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fallbacks = 0
        original = halves._Job._in_one_process

        def counted(job: Any, *args: Any) -> Any:
            self.fallbacks += 1
            return original(job, *args)

        monkeypatch.setattr(halves._Job, "_in_one_process", counted)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


@pytest.mark.parametrize(
    ("train", "validation"),
    [(COUNT, 0), (2000, 0), (500, 50), (1, 0)],
    ids=["everything", "into-the-second-part", "lecture-sizes", "one"],
)
def test_the_split_writes_what_one_process_writes(
    source: Path, tmp_path: Path, spy: Spy, train: int, validation: int
) -> None:
    expected = in_one(source, tmp_path / "one", train=train, validation=validation)
    result = in_two(source, tmp_path / "two", train=train, validation=validation)
    same_as_one_process(result, expected)
    assert spy.fallbacks == 0


def test_a_validation_set_past_the_first_part_is_loaded_here(
    source: Path, tmp_path: Path, spy: Spy
) -> None:
    expected = in_one(source, tmp_path / "one", train=2900, validation=100)
    same_as_one_process(in_two(source, tmp_path / "two", train=2900, validation=100), expected)
    assert spy.fallbacks == 1


def test_too_many_items_is_the_usual_error(source: Path, tmp_path: Path) -> None:
    with pytest.raises(SamplingError) as one:
        in_one(source, tmp_path / "one", train=COUNT + 1)
    with pytest.raises(SamplingError) as two:
        in_two(source, tmp_path / "two", train=COUNT + 1)
    assert str(two.value) == str(one.value)
    assert not (tmp_path / "two" / "fine_tune_train.jsonl").exists()


def test_unusable_prices_in_both_parts_are_dropped_and_counted(tmp_path: Path) -> None:
    items = course.make_items(COUNT, seed=12)
    for number in (10, 1200, 2600, 2700):
        items[number].price = float("nan") if number % 2 else 0.0
    source = write_pickle(tmp_path / "train.pkl", items)
    expected = in_one(source, tmp_path / "one", train=COUNT - 4)
    assert expected.dropped == {"no usable price": 4}
    same_as_one_process(in_two(source, tmp_path / "two", train=COUNT - 4), expected)


def test_a_second_part_that_needs_the_first_is_loaded_here(tmp_path: Path, spy: Spy) -> None:
    items = course.make_items(COUNT, seed=13)
    shared = "".join(["Seen first ", "in the second batch"])
    items[1500].category = items[2500].category = shared
    source = write_pickle(tmp_path / "train.pkl", items)
    expected = in_one(source, tmp_path / "one")
    same_as_one_process(in_two(source, tmp_path / "two"), expected)
    assert spy.fallbacks == 1


def some_lines_then_die(lines: int, items: list[Any], templates: Any, replies: int) -> None:
    os.write(lines, b'{"messages": []}\n')
    pickle_child.send(replies, pickle.dumps(("lines", 17)))
    os._exit(3)


@pytest.mark.parametrize(
    ("step", "dying"),
    [("_serve", lambda *args: os._exit(3)), ("_write_lines", some_lines_then_die)],
    ids=["before-loading", "while-writing"],
)
def test_a_child_that_dies_leaves_nothing_half_written(
    source: Path, tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch, step: str, dying: Any
) -> None:
    monkeypatch.setattr(pickle_child, step, dying)
    expected = in_one(source, tmp_path / "one")
    same_as_one_process(in_two(source, tmp_path / "two"), expected)
    assert spy.fallbacks == 1


def test_a_corrupt_second_part_is_left_to_the_usual_load(source: Path, tmp_path: Path) -> None:
    data = source.read_bytes()
    source.write_bytes(data[: len(data) * 3 // 4])  # the second part ends mid-item
    assert in_two(source, tmp_path / "two") is None
    assert not (tmp_path / "two").exists() or not list((tmp_path / "two").iterdir())


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", [100, 2500], ids=["first-part", "second-part"])
def test_a_malicious_pickle_never_runs_in_either_process(tmp_path: Path, where: int) -> None:
    marker = tmp_path / "pwned"
    items: list[Any] = list(course.make_items(COUNT, seed=15))
    items[where] = _Evil(marker)
    source = write_pickle(tmp_path / "train.pkl", items)
    # the usual whole-file load then refuses it, with the usual message
    assert in_two(source, tmp_path / "two") is None
    assert not marker.exists()
    assert not (tmp_path / "two").exists() or not list((tmp_path / "two").iterdir())


def test_what_is_not_split(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert halves.prepare_in_two(
        source, train=10, validation=0, templates=Templates(), out_dir=out,
        keep=lambda data: None,
    ) is None  # fmt: skip  # smaller than MIN_SIZE
    unframed = write_pickle(tmp_path / "old.pkl", course.make_items(COUNT), protocol=2)
    assert in_two(unframed, out) is None
    csv = tmp_path / "items.csv"
    csv.write_text("title,price\na,1\n")
    assert in_two(csv, out) is None
    assert in_two(tmp_path / "missing.pkl", out) is None
    monkeypatch.setattr(halves, "fork_is_safe", lambda: False)
    assert in_two(source, out) is None
    assert not out.exists()


def test_python_dash_m_prepare_splits_a_large_pickle(tmp_path: Path) -> None:
    """End to end through ``python -m ftkit``, where the split is made for real."""
    items = course.make_items(24_000, seed=14, text_chars=2_500)
    source = write_pickle(tmp_path / "big.pkl", items)
    assert source.stat().st_size >= halves.MIN_SIZE
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "ftkit", "prepare", "--source", str(source), "--train", "24000",
         "--validation", "0", "--out", str(out), "--no-history"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    expected = in_one(source, tmp_path / "one", train=24_000)
    written = (out / "fine_tune_train.jsonl").read_bytes()
    assert f"sha256:{hashlib.sha256(written).hexdigest()}" == expected.train_sha256


@pytest.mark.parametrize(("sampling", "tried"), [("first", 1), ("random", 0), ("stratified", 0)])
def test_only_the_first_sampling_is_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sampling: str, tried: int
) -> None:
    from ftkit.cli import main
    from ftkit.cli import prepare as prepare_command

    calls: list[object] = []
    monkeypatch.setattr(prepare_command, "prepare_in_two", lambda *a, **k: calls.append(a))
    code = main(["prepare", "--sampling", sampling, "--out", str(tmp_path), "--no-history"])
    assert code == 0 and len(calls) == tried
