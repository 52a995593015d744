from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import course
from ftkit.cli import main
from ftkit.preflight.cost import DEFAULT_EPOCHS

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_prepare_sample_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["prepare", "--out", str(tmp_path), "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["train_count"] == 500
    assert summary["validation_count"] == 50
    train = Path(summary["train_path"]).read_text().splitlines()
    assert len(train) == 500
    first = json.loads(train[0])["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert first[2]["content"].startswith("Price is $")
    assert len(Path(summary["validation_path"]).read_text().splitlines()) == 50


def test_prepare_human_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["prepare", "--out", str(tmp_path), "--train", "20", "--validation", "0"], capsys
    )
    assert code == 0
    assert "Wrote 20 training examples" in out
    assert "  columns: price 'price', title 'title', text 'description' + 'features'" in out
    assert "part-number scrub on" in out  # the sample is in the course's Amazon shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fine_tune_train.jsonl"]


def test_prepare_course_pickle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course.register()
    try:
        (tmp_path / "train.pkl").write_bytes(pickle.dumps(course.make_items(30)))
    finally:
        course.unregister()
    args = ["prepare", "--source", str(tmp_path / "train.pkl"), "--train", "25"]
    code, out, _ = run([*args, "--validation", "5", "--out", str(tmp_path), "--json"], capsys)
    assert code == 0
    assert json.loads(out)["train_count"] == 25


def _evil_pickle(path: Path, marker: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    path.write_bytes(pickle.dumps([Evil()]))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "missing.pkl: no such file"),
        ("evil", "refused to load 'posix.system'"),
        ("garbage", "not a readable pickle"),
        ("no_price", "no price column"),
        ("no_rows", "no usable rows, all 3 were dropped (2 price in another currency; 1 no price)"),
        ("too_few", "but the source has only"),
        ("bad_out", "cannot create the output folder"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    out_dir = tmp_path / "out"
    marker = tmp_path / "pwned"
    source = "sample"
    extra: list[str] = []
    if case == "missing":
        source = str(tmp_path / "missing.pkl")
    elif case == "evil":
        source = str(tmp_path / "evil.pkl")
        _evil_pickle(Path(source), marker)
    elif case == "garbage":
        source = str(tmp_path / "garbage.pkl")
        Path(source).write_bytes(b"\x80\x04garbage")
    elif case == "no_price":
        source = str(tmp_path / "items.csv")
        Path(source).write_text("title,description\nLamp,Bright\n")
    elif case == "no_rows":
        source = str(tmp_path / "items.csv")
        Path(source).write_text("title,price\nLamp,€45\nDesk,45 EUR\nChair,\n")
    elif case == "too_few":
        extra = ["--train", "5000"]
    elif case == "bad_out":
        blocker = tmp_path / "blocker"
        blocker.write_text("")
        out_dir = blocker / "out"
    code, out, err = run(["prepare", "--source", source, "--out", str(out_dir), *extra], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err
    assert "Traceback" not in err
    assert not marker.exists()
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_previous_files_survive_a_failed_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(["prepare", "--out", str(tmp_path), "--train", "10", "--validation", "2"], capsys)[0]
        == 0
    )
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code, _, err = run(["prepare", "--out", str(tmp_path), "--user-template", "{nope}"], capsys)
    assert code == 2 and "unknown field {nope}" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ftkit", "prepare", "--out", str(tmp_path), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["train_count"] == 500


@pytest.mark.parametrize("source", ["sample", "missing.pkl"])
def test_prepare_leaves_the_garbage_collector_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    import gc

    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    args = ["prepare", "--source", source, "--train", "10", "--validation", "0"]
    run([*args, "--out", str(tmp_path), "--no-history"], capsys)
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)


def _ftkit(tmp_path: Path, *args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ftkit`` with its history in ``tmp_path``."""
    env = {**os.environ, "FTKIT_DATABASE_URL": f"sqlite:///{tmp_path}/history.db"}
    command = [sys.executable, "-m", "ftkit", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **options
    )


def test_python_dash_m_records_the_run_and_fails_in_one_line(tmp_path: Path) -> None:
    done = _ftkit(tmp_path, "prepare", "--out", str(tmp_path), "--train", "30", "--validation", "5")
    assert done.returncode == 0, done.stderr
    assert "Wrote 30 training examples" in done.stdout and done.stderr == ""
    listed = _ftkit(tmp_path, "history", "--json")
    assert listed.returncode == 0, listed.stderr
    (recorded,) = json.loads(listed.stdout)
    written = (tmp_path / "fine_tune_train.jsonl").read_bytes()
    assert recorded["outputs"]["train_hash"] == f"sha256:{hashlib.sha256(written).hexdigest()}"
    failed = _ftkit(tmp_path, "prepare", "--source", str(tmp_path / "missing.pkl"))
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr == f"ftkit: error: {tmp_path / 'missing.pkl'}: no such file\n"


def _course_pickle(path: Path, items: list[Any]) -> Path:
    course.register()
    try:
        path.write_bytes(pickle.dumps(items, protocol=4))
    finally:
        course.unregister()
    return path


def test_python_dash_m_on_a_course_pickle_writes_what_the_library_writes(tmp_path: Path) -> None:
    from ftkit.dataset.prepare import prepare

    items = course.make_items(3000, seed=14)
    items[1200].price = float("nan")
    source = _course_pickle(tmp_path / "train.pkl", items)
    args = ["--source", str(source), "--train", "2900", "--validation", "99", "--json"]
    done = _ftkit(tmp_path, "prepare", *args, "--out", str(tmp_path / "cli"), "--no-history")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["dropped"] == {"no price": 1} and summary["train_count"] == 2900
    prepare(source, train=2900, validation=99, out_dir=tmp_path / "library")
    for name in ("fine_tune_train.jsonl", "fine_tune_validation.jsonl"):
        written = (tmp_path / "cli" / name).read_bytes()
        assert written == (tmp_path / "library" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == [
        "fine_tune_train.jsonl",
        "fine_tune_validation.jsonl",
    ]


def _small_disk() -> None:
    """In the child: files may grow to 64 KB; past that a write fails as on a full disk."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, resource.RLIM_INFINITY))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a POSIX file size limit")
def test_a_disk_that_fills_up_keeps_the_previous_pair(tmp_path: Path) -> None:
    first = _ftkit(tmp_path, "prepare", "--out", str(tmp_path), "--train", "10", "--no-history")
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix == ".jsonl"}
    args = ["prepare", "--out", str(tmp_path), "--train", "500", "--no-history"]
    failed = _ftkit(tmp_path, *args, preexec_fn=_small_disk)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.count("\n") == 1 and "File too large" in failed.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix == ".jsonl"} == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_prepare_check_runs_the_preflight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["prepare", "--out", str(tmp_path), "--check"], capsys)
    assert code == 0
    assert "Wrote 500 training examples" in out
    assert "gpt-4o-mini-2024-07-18" in out
    code, out, _ = run(["prepare", "--out", str(tmp_path), "--check", "--json"], capsys)
    check = json.loads(out)["check"]
    assert check["errors"] == []
    assert check["examples"] == 500
    assert check["tokens"]["total"] > 0


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--user-template", "{title:>50000000}", "user template: {title:>50000000}: the width"),
        ("--user-template", "{title.__class__}", "user template: {title.__class__}: only plain"),
        ("--assistant-template", "{price!r}", "assistant template: {price!r}: conversions"),
        ("--assistant-template", "{price:{width}}", "a format spec cannot hold another field"),
        ("--system-prompt", "  ", "system prompt: is empty"),
    ],
)
def test_an_unsafe_template_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run(["prepare", "--out", str(out_dir), "--no-history", flag, value], capsys)
    assert code == 2 and out == ""
    assert err.startswith("ftkit: error: ") and err.count("\n") == 1 and message in err
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_prepare_check_prices_the_default_epochs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["prepare", "--out", str(tmp_path), "--check", "--json"], capsys)
    check = json.loads(out)["check"]
    assert code == 0 and check["epochs"] == DEFAULT_EPOCHS
    assert check["billed_tokens"] == DEFAULT_EPOCHS * check["tokens"]["total"]
