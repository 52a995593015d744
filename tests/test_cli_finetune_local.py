"""A local LoRA run goes through the same launch, monitor, history and CLI as an OpenAI job.

One run of the session's tiny Llama (20 steps) is started by ``start_job`` and followed by
``follow_job``; the history and ``jobs show|events FOLDER`` read it back. ``finetune --backend
local --wait --json`` trains a second, short run end to end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import ftkit.history as history
from ftkit.cli import main
from ftkit.errors import FtkitError
from ftkit.history import HistoryStore, list_runs, open_store
from ftkit.history.recorder import store_recorder
from ftkit.training.backends import open_trainer
from ftkit.training.jobs import JobInfo
from ftkit.training.launch import Started, record_finished, start_job
from ftkit.training.monitor import follow_job, job_metrics
from ftkit.training.trainer import TrainRequest
from tests.tiny_llama import write_sample_split

pytestmark = pytest.mark.xdist_group("torch")

STEPS = 20


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Write 60 training and 10 validation examples of the built-in sample."""
    return write_sample_split(tmp_path_factory.mktemp("split"), 60, 10)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryStore]:
    yield open_store(f"sqlite:///{tmp_path_factory.mktemp('db') / 'history.db'}")
    history.close_all()


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory,
    split: tuple[Path, Path],
    tiny_llama: Path,
    store: HistoryStore,
) -> tuple[Started, JobInfo]:
    """Start a local run through ``start_job``, follow it to the end and record how it ended."""
    trainer = open_trainer("local", root=tmp_path_factory.mktemp("runs"))
    request = TrainRequest(
        training_file=str(split[0]),
        validation_file=str(split[1]),
        base_model=str(tiny_llama),
        max_steps=STEPS,
        batch_size=2,
        learning_rate=2e-3,
    )
    record = store_recorder(store, "ana")
    started = start_job(trainer, request, record=record)
    job, events = follow_job(trainer, started.job["id"], interval=0.5, timeout=300)
    metrics = job_metrics(trainer, job["id"], events)
    record_finished(job, metrics=metrics, record=record, run_id=started.run_id)
    return started, job


def test_a_local_run_is_followed_to_a_model_the_tester_takes(trained) -> None:
    _, job = trained
    assert job["status"] == "succeeded", job["error"]
    assert job["fine_tuned_model"] == f"local:{job['id']}"


def test_a_local_run_is_recorded_in_the_history_like_an_openai_job(trained, store) -> None:
    started, job = trained
    (run,) = list_runs("finetune", store=store)
    assert run.id == started.run_id and run.status == "succeeded"
    assert run.settings["backend"] == "local"
    assert run.settings["hyperparameters"]["max_steps"] == STEPS
    assert run.outputs["model"] == job["fine_tuned_model"]
    assert run.outputs["steps"] == STEPS
    assert run.outputs["metrics"]["train_loss"] > 0
    assert job["metadata"] == {"ftkit_run_id": str(run.id)}  # the history run id was the key


def test_jobs_show_and_events_read_a_local_run_by_its_folder(trained, capsys, monkeypatch):
    _, job = trained
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)  # a local run needs no key
    assert main(["jobs", "show", job["id"], "--json", "--no-history"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "succeeded" and shown["fine_tuned_model"] == f"local:{job['id']}"
    assert main(["jobs", "events", job["id"], "--limit", "5"]) == 0
    assert "Training finished" in capsys.readouterr().out


def test_pausing_a_local_run_is_one_line(trained, capsys) -> None:
    _, job = trained
    assert main(["jobs", "pause", job["id"]]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"ftkit: error: {job['id']}: a local run cannot be paused; cancel it and resume later\n"
    )


def test_a_folder_ftkit_did_not_write_is_one_line(tmp_path, capsys) -> None:
    assert main(["jobs", "show", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ftkit: error: ") and "not a local training run folder" in err
    assert err.count("\n") == 1


def test_finetune_backend_local_waits_and_prints_the_summary(
    split, tiny_llama, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    out_dir = tmp_path / "run"
    argv = ["finetune", "--backend", "local", "--base-model", str(tiny_llama)]
    argv += ["--training-file", str(split[0]), "--validation-file", str(split[1])]
    argv += ["--max-steps", str(STEPS), "--batch-size", "2", "--learning-rate", "2e-3"]
    argv += ["--out", str(out_dir), "--wait", "--interval", "0.5", "--json"]
    code = main(argv)
    out = capsys.readouterr().out
    history.close_all()
    shown = json.loads(out)
    assert code == 0, shown
    assert (shown["backend"], shown["status"]) == ("local", "succeeded")
    assert shown["model"] == f"local:{out_dir.resolve()}"
    assert shown["metrics"]["steps"] == STEPS
    assert shown["metrics"]["first_loss"] > 0 and shown["metrics"]["last_loss"] > 0
    (run,) = list_runs("finetune", store=open_store(f"sqlite:///{tmp_path / 'history.db'}"))
    history.close_all()
    assert run.status == "succeeded"
    assert run.outputs["model"] == shown["model"]  # recorded like an OpenAI job, and how it ended


def test_a_confined_local_trainer_refuses_another_folders_run(trained, tmp_path) -> None:
    _, job = trained
    with pytest.raises(FtkitError, match="not a run of this workspace"):
        open_trainer("local", root=tmp_path, confine=True).retrieve(job["id"])
    assert open_trainer("local", root=tmp_path).retrieve(job["id"])["status"] == "succeeded"
