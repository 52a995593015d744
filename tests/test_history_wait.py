"""A locked history database: prepare says it is waiting, gives up in bounded time, keeps its files.

Another process really holds ``BEGIN EXCLUSIVE`` on the SQLite file while ``prepare`` runs.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ftkit.cli import main
from ftkit.dataset.prepare import TRAIN_FILENAME, VALIDATION_FILENAME
from ftkit.history import close_all, list_runs, open_store

WAITING = "ftkit: waiting for the history database (locked by another process)..."

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Yield the path of a history database of this test's own."""
    path = tmp_path / "history" / "ftkit.db"
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{path}")
    yield path
    close_all()


@contextmanager
def held(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Hold an exclusive lock on the SQLite file ``path`` from another process for ``seconds``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", HOLDER, str(path), str(seconds)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]


def run_prepare(out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, float, list[str]]:
    """Run ``prepare`` into ``out``; return its exit code, seconds taken and stderr lines."""
    started = time.monotonic()
    code = main(["prepare", "--out", str(out), "--train", "20", "--validation", "2"])
    took = time.monotonic() - started
    return code, took, capsys.readouterr().err.splitlines()


def assert_files_written(out: Path) -> None:
    lines = [
        len((out / name).read_text().splitlines()) for name in (TRAIN_FILENAME, VALIDATION_FILENAME)
    ]
    assert lines == [20, 2]


@pytest.mark.parametrize("history_state", ["existing-history", "new-file"])
def test_a_locked_history_is_waited_for_a_bounded_time_and_the_files_are_kept(
    history: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    history_state: str,
) -> None:
    if history_state == "existing-history":
        open_store()  # created in WAL mode, as every real history is
    monkeypatch.setenv("FTKIT_HISTORY_WAIT", "3")
    with held(history, 60):
        code, took, err = run_prepare(tmp_path / "out", capsys)
    assert code == 0
    assert err == [
        WAITING,
        f"ftkit: note: not recorded in the history (history database sqlite:///{history}: "
        "locked by another process for 3 s; gave up)",
    ]
    assert 3 <= took < 3 + 5
    assert_files_written(tmp_path / "out")


def test_a_lock_released_in_time_is_waited_for_and_the_run_recorded(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_store()
    with held(history, 3):
        code, took, err = run_prepare(tmp_path / "out", capsys)
    assert code == 0
    assert err == [WAITING]
    assert took < 3 + 5
    assert [run.kind for run in list_runs()] == ["prepare"]
    assert_files_written(tmp_path / "out")


def test_a_short_lock_passes_without_a_word(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_store()
    with held(history, 0.5):
        code, _, err = run_prepare(tmp_path / "out", capsys)
    assert (code, err) == (0, [])
    assert [run.kind for run in list_runs()] == ["prepare"]


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_a_bad_wait_setting_is_one_note_and_the_files_are_kept(
    history: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: str,
) -> None:
    monkeypatch.setenv("FTKIT_HISTORY_WAIT", value)
    code, _, err = run_prepare(tmp_path / "out", capsys)
    assert code == 0
    assert err == [
        "ftkit: note: not recorded in the history "
        f"(FTKIT_HISTORY_WAIT: expected seconds above 0, got {value!r})"
    ]
    assert_files_written(tmp_path / "out")
