"""The local backend of the trainer interface: LoRA and QLoRA runs on this computer.

A run is a folder (its absolute path is the job id) holding ``request.json``, the training
process's ``status.json``, ``events.jsonl`` and ``train.log``, its ``checkpoint-N`` folders and,
once it succeeds, ``adapter/`` (and ``merged/``). The training runs in a child process
(``ftkit.training.local_worker``) in its own session, so a page reload or another command sees
the same job by reading the folder, and cancelling reaches the whole process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import ftkit
from ftkit.errors import FtkitError
from ftkit.training.events import CheckpointInfo, EventInfo, MetricRow, collect_metrics
from ftkit.training.jobs import TERMINAL, JobError, JobInfo
from ftkit.training.local_plan import plan_run, resolve_settings
from ftkit.training.local_run import (
    CANCEL_FILE,
    LOG_FILE,
    PROCESS_FILE,
    REQUEST_FILE,
    STATUS_FILE,
    append_event,
    as_int,
    checkpoint_metrics,
    estimated_finish,
    is_alive,
    is_starting,
    process_token,
    read_events,
    read_json,
    status_error,
    stored_request,
    write_json,
)
from ftkit.training.trainer import TrainRequest

__all__ = ["RUN_MARKER", "LocalTrainer", "find_run"]

RUN_MARKER = "ftkit-local-run"
CANCEL_GRACE = 30.0
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def find_run(job_id: str) -> Path:
    """Return the run folder ``job_id`` names; raise one line when ftkit did not write it."""
    folder = Path(job_id).expanduser()
    data = read_json(folder / REQUEST_FILE) if folder.is_absolute() else None
    if data is None or data.get("ftkit") != RUN_MARKER:
        raise FtkitError(f"{job_id}: not a local training run folder written by ftkit")
    return folder.resolve()


class LocalTrainer:
    """Train LoRA adapters on this computer; each run is a folder under ``root`` (or ``out``)."""

    backend = "local"

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        confine: bool = False,
        cancel_grace: float = CANCEL_GRACE,
    ) -> None:
        """Keep runs under ``root``; with ``confine`` (hosted) refuse job ids outside it."""
        self.root = Path(root).expanduser().resolve()
        self.confine = confine
        self.cancel_grace = cancel_grace
        self._children: dict[Path, subprocess.Popen[bytes]] = {}

    def _folder(self, job_id: str) -> Path:
        folder = find_run(job_id)
        if self.confine and not folder.is_relative_to(self.root):
            raise FtkitError(f"{job_id}: not a run of this workspace")
        child = self._children.get(folder)
        if child is not None and child.poll() is not None:
            del self._children[folder]
        return folder

    def _new_folder(self, request: TrainRequest) -> Path:
        if request.out:
            folder = Path(request.out).expanduser().resolve()
            if folder.exists() and any(folder.iterdir()):
                raise FtkitError(f"{request.out}: the output folder exists and is not empty")
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        suffix = re.sub(r"[^A-Za-z0-9_.-]", "-", request.suffix or "lora")[:40] or "lora"
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        self.root.mkdir(parents=True, exist_ok=True)
        for count in range(1, 1000):
            name = f"{stamp}-{suffix}" + (f"-{count}" if count > 1 else "")
            with contextlib.suppress(FileExistsError):
                (self.root / name).mkdir()
                return self.root / name
        raise FtkitError(f"{self.root}: cannot make a new run folder")

    def _existing(self, run_id: str) -> Path | None:
        for folder in self._run_folders():
            if (read_json(folder / REQUEST_FILE) or {}).get("run_id") == run_id:
                return folder
        return None

    def _run_folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [
            p
            for p in self.root.iterdir()
            if (read_json(p / REQUEST_FILE) or {}).get("ftkit") == RUN_MARKER
        ]

    def start(self, request: TrainRequest, *, run_id: str | None = None) -> JobInfo:
        """Plan the run, refuse it (one line, nothing left behind) or start it in the background."""
        if run_id is not None and (found := self._existing(run_id)) is not None:
            return self.retrieve(str(found))
        request = _absolute(request)
        if self.confine and request.out and not Path(request.out).is_relative_to(self.root):
            raise FtkitError(f"{request.out}: the run folder must be inside {self.root}")
        plan = plan_run(request)
        if plan.refusal:
            raise FtkitError(plan.refusal)
        folder = self._new_folder(request)
        try:
            record = {"ftkit": RUN_MARKER, "run_id": run_id, "created_at": int(time.time())}
            write_json(folder / REQUEST_FILE, {**record, "request": asdict(request)})
            append_event(folder, "Run created: " + "; ".join(plan.lines()))
            self._spawn(folder, resume=False)
        except OSError as err:
            shutil.rmtree(folder, ignore_errors=True)
            raise FtkitError(f"{folder}: cannot start the run ({err.strerror or err})") from None
        return self.retrieve(str(folder))

    def _spawn(self, folder: Path, *, resume: bool) -> None:
        """Start the training process for ``folder`` in its own session, logging to train.log."""
        with contextlib.suppress(FileNotFoundError):
            (folder / PROCESS_FILE).unlink()
        write_json(folder / STATUS_FILE, {"status": "queued", "updated_at": int(time.time())})
        env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
        package_parent = str(Path(ftkit.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "ftkit.training.local_worker", str(folder)]
        with open(folder / LOG_FILE, "ab") as log:
            child = subprocess.Popen(
                command + (["--resume"] if resume else []),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._children[folder] = child
        write_json(folder / PROCESS_FILE, {"pid": child.pid, "token": process_token(child.pid)})

    def retrieve(self, job_id: str) -> JobInfo:
        """Return the run as a job, read from its folder."""
        folder = self._folder(job_id)
        data = read_json(folder / REQUEST_FILE) or {}
        request = stored_request(data)
        status = read_json(folder / STATUS_FILE) or {"status": "queued"}
        state = str(status.get("status") or "queued")
        error = status_error(status)
        if state not in TERMINAL and not is_alive(folder) and not is_starting(folder, status):
            state = "failed"
            message = f"the training process ended without saying why; see {folder / LOG_FILE}"
            error = JobError(code="process_ended", message=message, param=None)
        epochs, batch, rate = resolve_settings(request)
        return JobInfo(
            id=str(folder),
            status=state,
            model=request.base_model,
            fine_tuned_model=f"local:{folder}" if state == "succeeded" else None,
            created_at=as_int(data.get("created_at")) or 0,
            finished_at=as_int(status.get("finished_at")) if state in TERMINAL else None,
            estimated_finish=estimated_finish(status) if state == "running" else None,
            trained_tokens=as_int(status.get("trained_tokens")),
            training_file=request.training_file,
            validation_file=request.validation_file,
            seed=request.seed,
            hyperparameters={
                "n_epochs": epochs,
                "batch_size": batch,
                "learning_rate": rate,
                "max_steps": request.max_steps,
                "lora_r": request.lora_r,
                "lora_alpha": request.lora_alpha,
                "qlora": request.qlora,
            },
            metadata={"ftkit_run_id": str(data["run_id"])} if data.get("run_id") else {},
            error=error,
        )

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        """Return the runs under ``root``, newest first."""
        jobs = [self.retrieve(str(folder)) for folder in self._run_folders()]
        jobs.sort(key=lambda job: (job["created_at"], job["id"]), reverse=True)
        return jobs[:limit]

    def events(self, job_id: str, *, limit: int = 100) -> list[EventInfo]:
        """Return up to ``limit`` of the run's events, newest first."""
        folder = self._folder(job_id)
        found = [
            EventInfo(
                id=f"event-{number}",
                created_at=as_int(event.get("created_at")) or 0,
                level=str(event.get("level") or "info"),
                message=event["message"],
                type=event.get("type") if isinstance(event.get("type"), str) else None,
                data=event.get("data") if isinstance(event.get("data"), dict) else None,
            )
            for number, event in enumerate(read_events(folder), start=1)
        ]
        return found[::-1][:limit]

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]:
        """Return the run's complete checkpoints, latest step first."""
        folder = self._folder(job_id)
        found = []
        for path in folder.iterdir():
            match = _CHECKPOINT.match(path.name)
            state = read_json(path / "trainer_state.json") if match else None
            if match is None or state is None:
                continue
            step = int(match.group(1))
            found.append(
                CheckpointInfo(
                    id=path.name,
                    created_at=int(path.stat().st_mtime),
                    fine_tuned_model_checkpoint=f"local:{path}",
                    step_number=step,
                    metrics=checkpoint_metrics(state, step),
                )
            )
        return sorted(found, key=lambda point: point["step_number"], reverse=True)

    def metrics(self, job_id: str) -> list[MetricRow]:
        """Return the run's metrics, one row per step, oldest first."""
        return collect_metrics(self.events(job_id, limit=100_000), self.checkpoints(job_id))

    def cancel(self, job_id: str) -> JobInfo:
        """Ask the run to stop at its next step; after the grace period, end its process group."""
        folder = self._folder(job_id)
        job = self.retrieve(job_id)
        if job["status"] in TERMINAL:
            return job
        (folder / CANCEL_FILE).touch()
        deadline = time.monotonic() + self.cancel_grace
        while time.monotonic() < deadline and self.retrieve(job_id)["status"] not in TERMINAL:
            time.sleep(0.2)
        if is_alive(folder):
            self._terminate(folder)
        job = self.retrieve(job_id)
        if job["status"] != "cancelled" and not (folder / "adapter").exists():
            status = read_json(folder / STATUS_FILE) or {}
            append_event(folder, "Training cancelled (the process was stopped)")
            status.update(status="cancelled", error=None, finished_at=int(time.time()))
            write_json(folder / STATUS_FILE, status)
        return self.retrieve(job_id)

    def _terminate(self, folder: Path) -> None:
        """Send SIGTERM to the run's process group and wait a little for it to go."""
        pid = (read_json(folder / PROCESS_FILE) or {}).get("pid")
        if isinstance(pid, int) and pid > 0:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        child = self._children.get(folder)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and is_alive(folder):
            if child is not None:
                child.poll()
            time.sleep(0.1)

    def resume(self, job_id: str) -> JobInfo:
        """Continue a cancelled or failed run from its last checkpoint; refuse with one line."""
        folder = self._folder(job_id)
        job = self.retrieve(job_id)
        if job["status"] not in ("cancelled", "failed"):
            raise FtkitError(
                f"{folder}: the run is {job['status']}; only a cancelled or failed run resumes"
            )
        if not self.checkpoints(job_id):
            raise FtkitError(f"{folder}: no checkpoint to resume from")
        with contextlib.suppress(FileNotFoundError):
            (folder / CANCEL_FILE).unlink()
        self._spawn(folder, resume=True)
        return self.retrieve(job_id)


def _absolute(request: TrainRequest) -> TrainRequest:
    """Return the request with its files (and a base model folder) as absolute paths."""
    base = request.base_model
    if os.path.isdir(os.path.expanduser(base)):
        base = str(Path(base).expanduser().resolve())
    valid = request.validation_file
    return replace(
        request,
        training_file=str(Path(request.training_file).expanduser().resolve()),
        validation_file=str(Path(valid).expanduser().resolve()) if valid else None,
        base_model=base,
    )
