"""The history record written from a helper process: its protocol, its fallbacks, the real fork."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import ftkit.history as history
from ftkit.cli.recorder import Recorder, serve
from ftkit.errors import HistoryError

ROOT = Path(__file__).resolve().parent.parent

calls: list[str] = []


def _job(value: int) -> int:
    calls.append(threading.current_thread().name)
    return value * 2


def _refused(value: int) -> int:
    calls.append(threading.current_thread().name)
    raise HistoryError(f"history: cannot open the database ({value})")


def _buggy(value: int) -> int:
    calls.append(threading.current_thread().name)
    raise ValueError(f"bug {value}")


@pytest.fixture(autouse=True)
def _no_calls() -> Iterator[None]:
    calls.clear()
    yield
    calls.clear()


def _helper_thread(behaviour: str = "serve") -> tuple[Recorder, threading.Thread, list[str]]:
    """A Recorder whose helper is a thread running ``serve`` (or one that dies) over pipes."""
    requests_read, requests_write = os.pipe()
    replies_read, replies_write = os.pipe()
    warmed: list[str] = []

    def helper() -> None:
        try:
            if behaviour == "serve":
                serve(requests_read, replies_write, lambda: warmed.append("warm"))
            else:  # reads the job, then dies without a reply
                os.read(requests_read, 1 << 16)
        finally:
            os.close(requests_read)
            os.close(replies_write)

    thread = threading.Thread(target=helper, name="helper")
    thread.start()
    # no real child: waitpid on this process's own id fails quietly, as for a reaped helper
    return Recorder(os.getpid(), requests_write, replies_read), thread, warmed


def test_the_job_runs_in_the_helper_after_its_warm_up() -> None:
    recorder, thread, warmed = _helper_thread()
    assert recorder.run(_job, 21) == 42
    thread.join()
    assert warmed == ["warm"] and calls == ["helper"]


def test_an_ftkit_error_in_the_helper_is_raised_here() -> None:
    recorder, thread, _ = _helper_thread()
    with pytest.raises(HistoryError, match=r"cannot open the database \(7\)"):
        recorder.run(_refused, 7)
    thread.join()
    assert calls == ["helper"]  # raised from the helper's reply, not run a second time


def test_a_bug_in_the_helper_runs_the_job_here_where_it_shows() -> None:
    recorder, thread, _ = _helper_thread()
    with pytest.raises(ValueError, match="bug 3"):
        recorder.run(_buggy, 3)
    thread.join()
    assert calls == ["helper", "MainThread"]


def test_a_helper_that_dies_leaves_the_record_to_this_process() -> None:
    recorder, thread, _ = _helper_thread("die")
    assert recorder.run(_job, 5) == 10
    thread.join()
    assert calls == ["MainThread"]


def test_a_command_without_a_record_lets_the_helper_go() -> None:
    recorder, thread, warmed = _helper_thread()
    recorder.close()
    thread.join(timeout=30)
    assert not thread.is_alive() and warmed == ["warm"] and calls == []


def test_outside_python_m_ftkit_there_is_no_helper() -> None:
    from ftkit.cli.recorder import start_recorder

    assert start_recorder(lambda: None) is None  # tests call main(): no fork in pytest


_SCRIPT = """
import os, sys, time
import ftkit.cli.prepare as prepare
from ftkit.cli import run_as_process

real = prepare.start_recorder
def start(warm_up):
    if os.environ.get("SLOW_HELPER"):  # a helper still loading when the command fails
        warm_up = lambda: time.sleep(60)
    recorder = real(warm_up)
    print("helper:", recorder is not None, file=sys.stderr, flush=True)
    return recorder
prepare.start_recorder = start
sys.argv = ["ftkit", *sys.argv[1:]]
run_as_process()
"""


def _ftkit(
    tmp_path: Path, *argv: str, timeout: float = 120, slow_helper: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SLOW_HELPER": "1" if slow_helper else "",
        "FTKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'history.db'}",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(
    not hasattr(os, "fork") or sys.platform == "darwin", reason="the helper needs fork"
)
def test_python_m_ftkit_records_prepare_from_a_forked_helper(tmp_path: Path) -> None:
    done = _ftkit(tmp_path, "prepare", "--train", "40", "--validation", "5", "--out", "out")
    assert done.returncode == 0, done.stderr
    assert "helper: True" in done.stderr and "Traceback" not in done.stderr
    train = tmp_path / "out" / "fine_tune_train.jsonl"
    try:
        (run,) = history.list_runs("prepare", store=_store(tmp_path))
    finally:
        history.close_all()
    assert run.outputs["train_count"] == 40 and run.outputs["validation_count"] == 5
    assert run.outputs["train_hash"] == f"sha256:{hashlib.sha256(train.read_bytes()).hexdigest()}"


@pytest.mark.skipif(
    not hasattr(os, "fork") or sys.platform == "darwin", reason="the helper needs fork"
)
def test_a_failing_command_does_not_wait_on_its_helper(tmp_path: Path) -> None:
    # the helper sleeps for a minute: reading the output to its end must not wait for it
    done = _ftkit(tmp_path, "prepare", "--source", "missing.pkl", timeout=30, slow_helper=True)
    assert "helper: True" in done.stderr
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "ftkit: error: missing.pkl: no such file"
    assert not (tmp_path / "history.db").exists() or _prepare_runs(tmp_path) == 0


def _prepare_runs(tmp_path: Path) -> int:
    try:
        return len(history.list_runs("prepare", store=_store(tmp_path)))
    finally:
        history.close_all()


def _store(tmp_path: Path) -> history.HistoryStore:
    return history.open_store(f"sqlite:///{tmp_path / 'history.db'}")
