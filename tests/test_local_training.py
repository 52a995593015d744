"""The local backend trains a LoRA adapter in a child process, watched like an OpenAI job.

Every run here trains the session's tiny Llama on the built-in sample, written with ftkit's own
JSONL writer; nothing comes from the Hugging Face Hub.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import time
from argparse import Namespace
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ftkit.cli.finetune_local import run_local
from ftkit.errors import FtkitError
from ftkit.training.jobs import TERMINAL, JobInfo
from ftkit.training.local import LocalTrainer, find_run
from ftkit.training.trainer import TrainRequest
from tests.tiny_llama import write_sample_split

pytestmark = pytest.mark.xdist_group("torch")

DEADLINE = 240.0


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Write 100 training and 20 validation examples of the built-in sample."""
    return write_sample_split(tmp_path_factory.mktemp("split"), 100, 20)


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


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Train with one CPU thread: on a busy 2-core machine more threads only slow it down."""
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    yield
    if old is None:
        del os.environ["OMP_NUM_THREADS"]
    else:
        os.environ["OMP_NUM_THREADS"] = old


def _args(split: tuple[Path, Path], model: Path, out: Path | None, **changes: object) -> Namespace:
    """Return the arguments ``finetune --backend local`` parses, with ``changes``."""
    values: dict[str, object] = {
        "backend": "local",
        "training_file": str(split[0]),
        "validation_file": str(split[1]),
        "base_model": str(model),
        "epochs": 1,
        "max_steps": 40,
        "batch_size": 2,
        "learning_rate": 2e-3,
        "lora_r": 16,
        "lora_alpha": 32,
        "qlora": False,
        "seed": 42,
        "suffix": "pricer",
        "out": str(out) if out else None,
        "resume": False,
        "merge": False,
        "wait": False,
        "interval": 0.5,
        "json": False,
        "no_history": False,
    }
    values.update(changes)
    return Namespace(**values)


@pytest.fixture(scope="module")
def cli_run(
    tmp_path_factory: pytest.TempPathFactory, split: tuple[Path, Path], tiny_llama: Path
) -> tuple[int, dict[str, Any], str]:
    """Run ``finetune --backend local --wait --json --merge``; return its code, JSON, stderr."""
    out = tmp_path_factory.mktemp("cli") / "run"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = run_local(_args(split, tiny_llama, out, wait=True, json=True, merge=True))
    return code, json.loads(stdout.getvalue()), stderr.getvalue()


@pytest.fixture(scope="module")
def finished(cli_run: tuple[int, dict[str, Any], str]) -> JobInfo:
    """Return the finished job of the command's run, as a new trainer sees it."""
    folder = Path(cli_run[1]["job_id"])
    return LocalTrainer(folder.parent).retrieve(str(folder))


def test_finetune_local_wait_json_prints_one_summary_object(
    cli_run: tuple[int, dict[str, Any], str], tiny_llama: Path
) -> None:
    code, data, stderr = cli_run
    folder = data["out"]
    assert code == 0, stderr
    assert data == {
        "backend": "local",
        "status": "succeeded",
        "model": f"local:{folder}",
        "job_id": folder,
        "base_model": str(tiny_llama.resolve()),
        "metrics": {
            "steps": 40,
            "first_loss": data["metrics"]["first_loss"],
            "last_loss": data["metrics"]["last_loss"],
        },
        "out": folder,
    }
    assert data["metrics"]["last_loss"] < data["metrics"]["first_loss"]
    assert "ftkit: device: no GPU" in stderr or "ftkit: device: CUDA" in stderr
    assert "ftkit: examples: 100; steps: 40" in stderr
    assert "Training finished" in stderr


def test_a_lora_run_succeeds_with_an_adapter_and_a_local_model_name(finished: JobInfo) -> None:
    folder = Path(finished["id"])
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["fine_tuned_model"] == f"local:{folder}"
    assert (folder / "adapter" / "adapter_config.json").is_file()
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    assert (folder / "merged" / "config.json").is_file()
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


def _pid(job: JobInfo) -> int:
    return int(json.loads((Path(job["id"]) / "process.json").read_text())["pid"])


def _is_gone(pid: int) -> bool:
    """Return whether the process has ended (reaping it if it was our child)."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z"


def _wait_for(predicate: Any) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert predicate()


def _steps(trainer: LocalTrainer, job_id: str) -> list[int]:
    return [row["step"] for row in trainer.metrics(job_id)]


def test_cancel_stops_the_run_and_resume_continues_from_its_checkpoint(
    tmp_path: Path, split: tuple[Path, Path], tiny_llama: Path
) -> None:
    trainer = LocalTrainer(tmp_path, cancel_grace=60)
    job = trainer.start(_request(split, tiny_llama, max_steps=200, validation_file=None))
    folder = Path(job["id"])
    _wait_for(lambda: (folder / "checkpoint-20" / "trainer_state.json").exists())
    with pytest.raises(FtkitError, match="only a cancelled or failed run resumes"):
        trainer.resume(job["id"])

    cancelled = trainer.cancel(job["id"])
    assert cancelled["status"] == "cancelled"
    assert _is_gone(_pid(job))
    assert not (folder / "adapter").exists()
    checkpoint = trainer.checkpoints(job["id"])[0]["step_number"]
    assert checkpoint >= 20

    resumed = LocalTrainer(tmp_path, cancel_grace=0).resume(job["id"])
    assert resumed["status"] in ("queued", "running")
    _wait_for(lambda: max(_steps(trainer, job["id"])) > checkpoint + 10)
    stopped = LocalTrainer(tmp_path, cancel_grace=0).cancel(job["id"])
    assert stopped["status"] == "cancelled"
    assert _is_gone(_pid(resumed))
    messages = [event["message"] for event in trainer.events(job["id"], limit=1000)]
    assert "Resuming from the last checkpoint" in messages
    assert messages[0].startswith("Training cancelled")


def test_a_broken_training_line_fails_the_run_with_one_line(
    tmp_path: Path, split: tuple[Path, Path], tiny_llama: Path
) -> None:
    broken = tmp_path / "broken.jsonl"
    lines = split[0].read_text().splitlines()[:5]
    lines[2] = lines[2][:40]
    broken.write_text("\n".join(lines) + "\n")
    trainer = LocalTrainer(tmp_path / "runs")
    job = _wait(
        trainer, trainer.start(_request(split, tiny_llama, training_file=str(broken)))["id"]
    )
    assert job["status"] == "failed"
    assert job["error"] is not None
    assert job["error"]["message"] == f"{broken}: line 3 is not JSON"
    assert "Traceback" in (Path(job["id"]) / "train.log").read_text()
    with open(Path(job["id"]) / "events.jsonl", "a") as events:
        events.write('{"created_at": 1, "mess')  # a torn last line
    assert (
        trainer.events(job["id"])[0]["message"] == f"Training failed: {broken}: line 3 is not JSON"
    )
    with pytest.raises(FtkitError, match="no checkpoint to resume from"):
        trainer.resume(job["id"])


def test_a_corrupt_base_model_config_is_refused_before_anything_starts(
    tmp_path: Path, split: tuple[Path, Path], tiny_llama: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for path in tiny_llama.iterdir():
        (model / path.name).write_bytes(path.read_bytes())
    (model / "config.json").write_text('{"hidden_size": ')
    runs = tmp_path / "runs"
    with pytest.raises(FtkitError, match=r"config.json is not a JSON object$"):
        LocalTrainer(runs).start(_request(split, model))
    assert not runs.exists() or not any(runs.iterdir())


def test_a_run_whose_process_died_is_failed_even_if_its_pid_is_reused(
    tmp_path: Path, split: tuple[Path, Path], tiny_llama: Path
) -> None:
    trainer = LocalTrainer(tmp_path)
    job = trainer.start(_request(split, tiny_llama))
    os.killpg(_pid(job), signal.SIGKILL)
    _wait_for(lambda: _is_gone(_pid(job)))
    died = LocalTrainer(tmp_path).retrieve(job["id"])
    folder = Path(job["id"])
    assert died["status"] == "failed"
    assert died["error"] is not None
    assert died["error"]["message"] == (
        f"the training process ended without saying why; see {folder / 'train.log'}"
    )
    # another process now has the pid: still failed
    (folder / "status.json").write_text(json.dumps({"status": "running"}))
    (folder / "process.json").write_text(json.dumps({"pid": os.getpid(), "token": "old-boot:1"}))
    assert LocalTrainer(tmp_path).retrieve(job["id"])["status"] == "failed"


def test_finetune_local_resume_shows_a_finished_run_without_training_again(
    capsys: pytest.CaptureFixture[str],
    finished: JobInfo,
    split: tuple[Path, Path],
    tiny_llama: Path,
) -> None:
    folder = finished["id"]
    assert run_local(_args(split, tiny_llama, Path(folder), resume=True)) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"run:    {folder}",
        "status: succeeded",
        f"base model: {tiny_llama.resolve()}",
        f"fine-tuned model: local:{folder}",
    ]
    with pytest.raises(FtkitError, match=r"^--resume: give the run's folder with --out DIR$"):
        run_local(_args(split, tiny_llama, None, resume=True))
