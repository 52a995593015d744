"""The local backend trains a LoRA adapter in a child process, watched like an OpenAI job.

Every run here trains the session's tiny Llama on the built-in sample, written with ftkit's own
JSONL writer; nothing comes from the Hugging Face Hub.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ftkit.dataset.jsonl import write_jsonl
from ftkit.dataset.messages import render_messages
from ftkit.errors import FtkitError
from ftkit.sources.load import load_items
from ftkit.training.jobs import TERMINAL, JobInfo
from ftkit.training.local import LocalTrainer, find_run
from ftkit.training.trainer import TrainRequest

pytestmark = pytest.mark.xdist_group("torch")

DEADLINE = 240.0


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Write 100 training and 20 validation examples of the built-in sample."""
    folder = tmp_path_factory.mktemp("split")
    items = load_items("sample").items
    train, valid = folder / "train.jsonl", folder / "validation.jsonl"
    write_jsonl(train, [{"messages": render_messages(item)} for item in items[:100]])
    write_jsonl(valid, [{"messages": render_messages(item)} for item in items[100:120]])
    return train, valid


def _request(split: tuple[Path, Path], model: Path, **changes: object) -> TrainRequest:
    settings: dict[str, object] = {
        "training_file": str(split[0]),
        "validation_file": str(split[1]),
        "base_model": str(model),
        "max_steps": 40,
        "batch_size": 2,
        "learning_rate": 2e-3,
    }
    settings.update(changes)
    return TrainRequest(**settings)  # type: ignore[arg-type]


def _wait(trainer: LocalTrainer, job_id: str, until: frozenset[str] = TERMINAL) -> JobInfo:
    deadline = time.monotonic() + DEADLINE
    job = trainer.retrieve(job_id)
    while job["status"] not in until and time.monotonic() < deadline:
        time.sleep(0.5)
        job = trainer.retrieve(job_id)
    return job


@pytest.fixture(scope="module")
def finished(
    tmp_path_factory: pytest.TempPathFactory, split: tuple[Path, Path], tiny_llama: Path
) -> JobInfo:
    """Train 40 steps of LoRA and return the finished job."""
    trainer = LocalTrainer(tmp_path_factory.mktemp("runs"))
    job = trainer.start(_request(split, tiny_llama))
    assert job["status"] in ("queued", "running")
    return _wait(trainer, job["id"])


def test_a_lora_run_succeeds_with_an_adapter_and_a_local_model_name(finished: JobInfo) -> None:
    folder = Path(finished["id"])
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["fine_tuned_model"] == f"local:{folder}"
    assert (folder / "adapter" / "adapter_config.json").is_file()
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    assert finished["hyperparameters"]["max_steps"] == 40
    assert finished["trained_tokens"]


def test_the_training_loss_falls_and_is_charted_per_step(finished: JobInfo, tmp_path: Path) -> None:
    trainer = LocalTrainer(tmp_path)
    rows = trainer.metrics(finished["id"])
    losses = [row["train_loss"] for row in rows if "train_loss" in row]
    assert len(losses) >= 10
    assert losses[-1] < losses[0]
    assert any("valid_loss" in row for row in rows)
    assert rows[-1]["step"] == 40


def test_a_new_trainer_sees_the_finished_job_and_its_checkpoints(finished: JobInfo) -> None:
    folder = Path(finished["id"])
    again = LocalTrainer(folder.parent)
    assert again.retrieve(finished["id"]) == finished
    assert [job["id"] for job in again.list_jobs()] == [finished["id"]]
    points = again.checkpoints(finished["id"])
    assert points[0]["step_number"] == 40
    assert points[0]["fine_tuned_model_checkpoint"] == f"local:{folder}/checkpoint-40"
    messages = [event["message"] for event in again.events(finished["id"])]
    assert messages[0] == "Training finished"


def test_a_folder_ftkit_did_not_write_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FtkitError, match="not a local training run folder"):
        find_run(str(tmp_path))
    with pytest.raises(FtkitError, match="not a local training run folder"):
        LocalTrainer(tmp_path).retrieve("relative/run")


def test_a_confined_trainer_refuses_runs_outside_its_root(
    finished: JobInfo, tmp_path: Path
) -> None:
    with pytest.raises(FtkitError, match="not a run of this workspace"):
        LocalTrainer(tmp_path, confine=True).retrieve(finished["id"])
