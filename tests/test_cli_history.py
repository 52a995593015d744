"""``python -m ftkit history`` and the runs that prepare and validate record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import ftkit.history as history
from ftkit.cli import main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FTKIT_DATABASE_URL", raising=False)
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    yield tmp_path
    history.close_all()


def _history(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert main(["history", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_prepare_is_recorded_and_listed(workdir: Path, capsys) -> None:
    assert main(["prepare", "--out", "out", "--train", "40", "--validation", "5"]) == 0
    assert (
        main(
            [
                "prepare",
                "--out",
                "out",
                "--train",
                "40",
                "--validation",
                "5",
                "--seed",
                "7",
                "--sampling",
                "random",
            ]
        )
        == 0
    )
    assert (workdir / ".ftkit" / "ftkit.db").is_file()
    runs = _history(capsys)
    assert [r["id"] for r in runs] == [2, 1]
    first = runs[1]
    assert {"id", "kind", "created_at", "settings", "outputs"} <= first.keys()
    assert first["kind"] == "prepare" and first["user"] == "ana@example.com"
    assert first["created_at"].endswith("+00:00")
    settings = first["settings"]
    assert settings["source"] == "sample"
    assert settings["dataset_hash"].startswith("sha256:")
    assert settings["sizes"] == {"train": 40, "validation": 5}
    assert (settings["seed"], settings["strategy"]) == (42, "first")
    assert settings["templates"]["system"].startswith("You estimate prices of items.")
    assert first["outputs"]["train_count"] == 40
    assert first["outputs"]["train_path"] == str(workdir / "out" / "fine_tune_train.jsonl")

    changes = _history(capsys, "--diff", "1", "2")
    assert changes == [
        {"key": "seed", "a": 42, "b": 7},
        {"key": "strategy", "a": "first", "b": "random"},
    ]
    assert _history(capsys, "--id", "2")["settings"]["seed"] == 7
    assert _history(capsys, "--kind", "validate") == []


def test_rerun_repeats_a_prepare_with_the_same_settings(workdir: Path, capsys) -> None:
    assert (
        main(
            [
                "prepare",
                "--out",
                "out",
                "--train",
                "30",
                "--validation",
                "3",
                "--sampling",
                "stratified",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    before = (workdir / "out" / "fine_tune_train.jsonl").read_bytes()
    (workdir / "out" / "fine_tune_train.jsonl").unlink()
    rerun = _history(capsys, "--rerun", "1")
    assert rerun["id"] == 2 and rerun["parent_run_id"] == 1
    assert (workdir / "out" / "fine_tune_train.jsonl").read_bytes() == before
    original = _history(capsys, "--id", "1")
    assert rerun["settings"] == original["settings"]
    assert rerun["outputs"]["train_hash"] == original["outputs"]["train_hash"]


def test_rerun_refuses_a_changed_dataset(workdir: Path, capsys) -> None:
    data = workdir / "items.jsonl"
    data.write_text(
        "".join(
            json.dumps({"title": f"Item {n}", "price": 10 + n, "details": "x" * 40}) + "\n"
            for n in range(30)
        )
    )
    assert (
        main(
            ["prepare", "--source", str(data), "--out", "out", "--train", "10", "--validation", "2"]
        )
        == 0
    )
    data.write_text(data.read_text() + json.dumps({"title": "New", "price": 1}) + "\n")
    capsys.readouterr()
    assert main(["history", "--rerun", "1"]) == 2
    assert "items.jsonl has changed since it ran" in capsys.readouterr().err


def test_no_history_and_an_unusable_database(workdir: Path, capsys, monkeypatch) -> None:
    assert (
        main(["prepare", "--out", "out", "--train", "10", "--validation", "0", "--no-history"]) == 0
    )
    assert not (workdir / ".ftkit").exists()
    monkeypatch.setenv("FTKIT_DATABASE_URL", "nosuch://db")
    capsys.readouterr()
    assert main(["prepare", "--out", "out", "--train", "10", "--validation", "0"]) == 0
    assert "ftkit: note: not recorded in the history" in capsys.readouterr().err


def test_validate_is_recorded(workdir: Path, capsys, shared_dir: Path) -> None:
    assert main(["prepare", "--out", "out", "--train", "20", "--validation", "2"]) == 0
    assert main(["validate", "out/fine_tune_train.jsonl", "--epochs", "2"]) == 0
    run = _history(capsys, "--kind", "validate")[0]
    assert run["settings"]["model"] == "gpt-4o-mini-2024-07-18"
    assert run["settings"]["hyperparameters"] == {"n_epochs": 2}
    assert run["outputs"]["ok"] is True
    assert run["outputs"]["metrics"]["examples"] == 20
    assert run["outputs"]["metrics"]["billed_tokens"] > 0
    again = _history(capsys, "--rerun", str(run["id"]))
    assert again["outputs"]["metrics"] == run["outputs"]["metrics"]


def test_table_and_errors(workdir: Path, capsys) -> None:
    assert main(["history"]) == 0
    assert capsys.readouterr().out.strip() == "No runs recorded yet."
    history.record_run("upload", {"model": "m"}, {"file_id": "file-1"}, user="bo")
    assert main(["history"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "KIND", "WHEN", "(UTC)", "USER", "STATUS", "SETTINGS"]
    assert out[1].split()[:2] == ["1", "upload"] and "bo" in out[1]
    assert main(["history", "--id", "9"]) == 2
    assert "run 9: no such run" in capsys.readouterr().err
    assert main(["history", "--rerun", "1"]) == 2
    assert "run 1: upload runs cannot be re-run" in capsys.readouterr().err
