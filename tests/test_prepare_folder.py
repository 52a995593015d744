"""One prepare at a time per output folder: no mixed pair, no leftover staging, one clear line.

Concurrent runs race on one folder for real (subprocesses and threads); a stalled run
(``tests/prepare_worker.py``) is killed with ``kill -9`` or stopped with SIGTERM mid-write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftkit.cli import main
from ftkit.dataset.prepare import TRAIN_FILENAME, VALIDATION_FILENAME, prepare, write_split
from ftkit.dataset.sampling import Split, split_items
from ftkit.dataset.staging import folder_lock
from ftkit.errors import OutputError
from ftkit.sources.load import load_items

ROOT = Path(__file__).resolve().parent.parent
PAIR = [TRAIN_FILENAME, VALIDATION_FILENAME]


def busy_line(folder: Path) -> str:
    """Return the one line a run that finds ``folder`` busy prints."""
    return (
        f"ftkit: error: {folder}: another run is writing files here; nothing was written, "
        "try again when it finishes"
    )


def pair_bytes(folder: Path) -> tuple[bytes, bytes]:
    """Return the training and validation files' bytes."""
    return (folder / TRAIN_FILENAME).read_bytes(), (folder / VALIDATION_FILENAME).read_bytes()


def expected_pairs(tmp_path: Path, seeds: range, train: int, validation: int) -> dict[int, tuple]:
    """Return, per seed, the pair a lone ``prepare`` writes with the random strategy."""
    pairs = {}
    for seed in seeds:
        folder = tmp_path / f"expected-{seed}"
        prepare(train=train, validation=validation, seed=seed, strategy="random", out_dir=folder)
        pairs[seed] = pair_bytes(folder)
    assert len(set(pairs.values())) == len(seeds)  # every run's pair is recognisable
    return pairs


def test_racing_prepare_processes_leave_one_runs_pair_and_losers_say_so(tmp_path: Path) -> None:
    seeds = range(6)
    pairs = expected_pairs(tmp_path, seeds, train=300, validation=30)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "ftkit", "prepare", "--out", str(out), "--no-history"]
    args = ["--train", "300", "--validation", "30", "--sampling", "random"]
    procs = [
        subprocess.Popen(
            [*base, *args, "--seed", str(seed)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in seeds
    ]
    results = [(proc.wait(timeout=120), proc.stderr.read()) for proc in procs]  # type: ignore[union-attr]
    for code, err in results:
        assert (code, err) in {(0, ""), (2, busy_line(out) + "\n")}, err
    assert any(code == 0 for code, _ in results)
    assert pair_bytes(out) in pairs.values()
    assert sorted(p.name for p in out.iterdir()) == PAIR


def race_threads(splits: list[Split], out: Path) -> dict[int, str]:
    """Let one thread per split call ``write_split`` into ``out`` at once; return each outcome."""
    start = threading.Barrier(len(splits))
    outcomes: dict[int, str] = {}

    def write(n: int) -> None:
        start.wait()
        try:
            write_split(splits[n], out)
            outcomes[n] = "written"
        except OutputError as err:
            outcomes[n] = str(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(splits))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("round_", range(5))
def test_racing_threads_leave_one_writers_pair(tmp_path: Path, round_: int) -> None:
    items = load_items("sample").items
    splits = [
        split_items(items, train=400, validation=40, seed=10 * round_ + n, strategy="random")
        for n in range(4)
    ]
    out = tmp_path / "out"
    outcomes = race_threads(splits, out)
    assert set(outcomes.values()) <= {"written", busy_line(out).removeprefix("ftkit: error: ")}
    winners = [n for n, outcome in outcomes.items() if outcome == "written"]
    assert winners
    lone = [tmp_path / f"lone-{n}" for n in winners]
    for n, folder in zip(winners, lone, strict=True):
        write_split(splits[n], folder)
    assert pair_bytes(out) in [pair_bytes(folder) for folder in lone]
    assert sorted(p.name for p in out.iterdir()) == PAIR


@pytest.fixture
def stalled(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str], tuple[bytes, bytes]]]:
    """Yield a folder holding an earlier pair and a prepare stalled mid-write into it."""
    out = tmp_path / "out"
    prepare(train=30, validation=5, out_dir=out)
    earlier = pair_bytes(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.prepare_worker", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
        yield out, proc, earlier
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def staging_files(folder: Path) -> dict[str, int]:
    """Return the hidden files in ``folder`` and their sizes."""
    return {p.name: p.stat().st_size for p in folder.iterdir() if p.name.startswith(".")}


def test_a_prepare_into_a_folder_being_written_fails_in_one_line_and_writes_nothing(
    stalled: tuple[Path, subprocess.Popen[str], tuple[bytes, bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, _, earlier = stalled
    before = staging_files(out)
    assert main(["prepare", "--out", str(out), "--train", "10", "--no-history"]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", busy_line(out) + "\n")
    assert pair_bytes(out) == earlier
    assert staging_files(out).keys() == before.keys()


def test_the_next_prepare_removes_what_a_killed_one_left(
    stalled: tuple[Path, subprocess.Popen[str], tuple[bytes, bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, proc, earlier = stalled
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = staging_files(out)
    assert left and sum(left.values()) >= 2 << 20  # megabytes of a half-written file
    assert pair_bytes(out) == earlier  # the earlier pair is intact
    assert main(["prepare", "--out", str(out), "--train", "10", "--validation", "2"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == PAIR
    assert [len(f.splitlines()) for f in pair_bytes(out)] == [10, 2]


def test_sigterm_stops_a_prepare_without_leaving_a_staging_file(
    stalled: tuple[Path, subprocess.Popen[str], tuple[bytes, bytes]],
) -> None:
    out, proc, earlier = stalled
    assert staging_files(out)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 130
    assert time.monotonic() - started < 10
    assert proc.stderr is not None and proc.stderr.read() == "ftkit: interrupted\n"
    assert sorted(p.name for p in out.iterdir()) == PAIR
    assert pair_bytes(out) == earlier


def test_a_lone_prepare_still_writes_and_reports_as_before(tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder"
    code = main(["prepare", "--out", str(out), "--train", "5", "--validation", "1", "--json"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == PAIR
    assert json.loads((out / TRAIN_FILENAME).read_text().splitlines()[0])["messages"]


def test_the_export_page_says_in_one_line_that_another_run_is_writing_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apptest_support import errors, open_app

    from ftkit.ui import state

    monkeypatch.delenv(state.HOSTED_ENV, raising=False)
    out = tmp_path / "out"
    at = open_app("export")
    at.text_input(key="export_folder").input(str(out))
    with folder_lock(out):  # another run is writing there
        at.button[0].click().run()
    assert errors(at) == [busy_line(out).removeprefix("ftkit: error: ")]
    assert list(out.iterdir()) == []
    at.button[0].click().run()  # once it has finished, writing works
    assert not errors(at) and sorted(p.name for p in out.iterdir()) == PAIR


STALE = [
    ".fine_tune_train.jsonl.staged",  # an earlier ftkit's staging name
    ".fine_tune_train.jsonl.4242.staged",
    "..fine_tune_train.jsonl.4242.staged.k3j9x_1a.tmp",  # killed while writing the staging file
    ".fine_tune_validation.jsonl.17.staged",
]
KEPT = [
    "notes.txt",
    "fine_tune_train.jsonl.staged",
    ".fine_tune_train.jsonl.bak",
    ".other.jsonl.4242.staged",
    ".fine_tune_train.jsonl.4242.staged.d",  # a folder, not a staging file
    ".fine_tune_validation.jsonl.5.staged.link",
]


def test_a_prepare_removes_only_staging_files_of_its_own_kind(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text("keep me\n")
    for name in [*STALE, *KEPT[:4]]:
        (out / name).write_text("x" * 100)
    (out / KEPT[4]).mkdir()
    (out / KEPT[5]).symlink_to(elsewhere)
    (out / ".fine_tune_train.jsonl.9.staged").symlink_to(elsewhere)  # a link is never removed
    prepare(train=10, validation=2, out_dir=out)
    left = sorted(p.name for p in out.iterdir())
    assert left == sorted([*PAIR, *KEPT, ".fine_tune_train.jsonl.9.staged"])
    assert elsewhere.read_text() == "keep me\n"
