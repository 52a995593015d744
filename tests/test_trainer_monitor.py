"""The monitor and launch work for any backend: an in-memory trainer is watched and recorded.

``StepTrainer`` is a plain Python class that meets the ``Trainer`` protocol: each look at a job
trains one more step and logs one metric event, as a local run would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ftkit.history as history
from ftkit.errors import FtkitError, OutputError, WaitTimeoutError
from ftkit.history import HistoryStore, list_runs, open_store
from ftkit.history.recorder import store_recorder
from ftkit.training.events import CheckpointInfo, EventInfo, MetricRow, collect_metrics
from ftkit.training.jobs import JobInfo
from ftkit.training.launch import record_finished, start_job
from ftkit.training.monitor import follow_job, job_metrics, view_job
from ftkit.training.trainer import Trainer, TrainRequest, summary


class StepTrainer:
    """A backend in memory: a job runs ``steps`` steps, one per look, then succeeds."""

    backend = "fake-local"

    def __init__(self, steps: int = 4, *, refuse: str = "") -> None:
        self.steps, self.refuse = steps, refuse
        self.jobs: dict[str, JobInfo] = {}
        self.log: dict[str, list[EventInfo]] = {}
        self.started_with: list[str | None] = []

    def start(self, request: TrainRequest, *, run_id: str | None = None) -> JobInfo:
        self.started_with.append(run_id)
        if self.refuse:
            raise OutputError(self.refuse)
        job_id = f"run-{len(self.jobs) + 1}"
        self.jobs[job_id] = JobInfo(
            id=job_id,
            status="running",
            model=request.base_model,
            fine_tuned_model=None,
            created_at=1,
            finished_at=None,
            estimated_finish=None,
            trained_tokens=None,
            training_file=request.training_file,
            validation_file=request.validation_file,
            seed=request.seed,
            hyperparameters={"lora_r": request.lora_r},
            metadata={"ftkit_run_id": run_id or ""},
            error=None,
        )
        self.log[job_id] = [self._event(job_id, "started", None)]
        return self.jobs[job_id]

    def _event(self, job_id: str, message: str, data: dict[str, float] | None) -> EventInfo:
        number = len(self.log.get(job_id, []))
        kind = "metrics" if data else "message"
        return EventInfo(
            id=f"{job_id}-e{number}", created_at=number, level="info", message=message,
            type=kind, data=data,
        )  # fmt: skip

    def retrieve(self, job_id: str) -> JobInfo:
        job = self.jobs[job_id]
        done = len([e for e in self.log[job_id] if e["type"] == "metrics"])
        if job["status"] == "running" and done < self.steps:
            step = done + 1
            data = {"step": step, "train_loss": 2.0 / step, "valid_loss": 2.5 / step}
            self.log[job_id].append(self._event(job_id, f"Step {step}", data))
        elif job["status"] == "running":
            job.update(status="succeeded", fine_tuned_model=f"local:/runs/{job_id}")
            self.log[job_id].append(self._event(job_id, "done", None))
        return dict(job)  # type: ignore[return-value]

    def events(self, job_id: str, *, limit: int = 100) -> list[EventInfo]:
        return list(reversed(self.log[job_id]))[:limit]

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]:
        return []

    def metrics(self, job_id: str) -> list[MetricRow]:
        return collect_metrics(self.log[job_id])

    def cancel(self, job_id: str) -> JobInfo:
        self.jobs[job_id]["status"] = "cancelled"
        return self.jobs[job_id]

    def resume(self, job_id: str) -> JobInfo:
        self.jobs[job_id]["status"] = "running"
        return self.jobs[job_id]


def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    yield open_store(f"sqlite:///{tmp_path / 'history.db'}")
    history.close_all()


REQUEST = TrainRequest(training_file="train.jsonl", base_model="tiny", max_steps=4, lora_r=8)


def test_the_fake_is_a_trainer() -> None:
    trainer: Trainer = StepTrainer()
    assert trainer.backend == "fake-local"


def test_following_any_backend_reports_each_event_once_to_the_end() -> None:
    trainer = StepTrainer(steps=4)
    job_id = trainer.start(REQUEST)["id"]
    shown: list[str] = []
    job, events = follow_job(
        trainer, job_id, interval=0, sleep=_no_sleep, on_event=lambda j, e: shown.append(e["id"])
    )
    assert job["status"] == "succeeded" and job["fine_tuned_model"] == "local:/runs/run-1"
    assert shown == [e["id"] for e in trainer.log[job_id]]  # each once, oldest first
    assert len(events) == len(shown) == 6


def test_metrics_per_step_carry_train_and_validation_loss() -> None:
    trainer = StepTrainer(steps=3)
    job_id = trainer.start(REQUEST)["id"]
    _, events = follow_job(trainer, job_id, interval=0, sleep=_no_sleep)
    rows = job_metrics(trainer, job_id, events)
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert rows[0]["train_loss"] == 2.0 and rows[-1]["valid_loss"] == pytest.approx(2.5 / 3)


def test_metrics_come_from_the_events_seen_when_the_backend_cannot_say() -> None:
    trainer = StepTrainer(steps=2)
    job_id = trainer.start(REQUEST)["id"]
    _, events = follow_job(trainer, job_id, interval=0, sleep=_no_sleep)

    def broken(job_id: str) -> list[MetricRow]:
        raise OutputError("metrics.jsonl: unreadable")

    trainer.metrics = broken  # type: ignore[method-assign]
    assert [row["step"] for row in job_metrics(trainer, job_id, events)] == [1, 2]


def test_a_view_charts_every_step_even_beyond_the_recent_events() -> None:
    trainer = StepTrainer(steps=30)
    job_id = trainer.start(REQUEST)["id"]
    follow_job(trainer, job_id, interval=0, sleep=_no_sleep)
    view = view_job(trainer, job_id, limit=10)
    assert len(view.events) == 10
    assert [row["step"] for row in view.metrics] == list(range(1, 31))
    assert view.job["status"] == "succeeded"


def test_a_follow_that_outlives_its_deadline_is_one_line_naming_the_job() -> None:
    trainer = StepTrainer(steps=1000)
    job_id = trainer.start(REQUEST)["id"]
    ticks = iter(range(0, 10_000, 10))
    with pytest.raises(WaitTimeoutError, match=f"{job_id}: still running after 30 s") as late:
        follow_job(
            trainer, job_id, interval=10, sleep=_no_sleep, timeout=30, clock=lambda: next(ticks)
        )
    assert "\n" not in str(late.value)


def test_a_run_on_any_backend_is_recorded_with_its_backend_and_request(store) -> None:
    trainer = StepTrainer(steps=3)
    record = store_recorder(store, "ana")
    started = start_job(trainer, REQUEST, record=record)
    (run,) = list_runs("finetune", store=store)
    assert trainer.started_with == [str(run.id)]  # the history run id is the idempotency key
    assert run.status == "running" and run.outputs["job_id"] == started.job["id"]
    assert run.settings["backend"] == "fake-local"
    assert run.settings["model"] == "tiny" and run.settings["training_file"] == "train.jsonl"
    assert run.settings["hyperparameters"]["max_steps"] == 4
    assert run.settings["hyperparameters"]["lora_r"] == 8


def test_a_finished_run_records_its_model_steps_and_final_metrics(store) -> None:
    trainer = StepTrainer(steps=3)
    record = store_recorder(store, "ana")
    started = start_job(trainer, REQUEST, record=record)
    job, events = follow_job(trainer, started.job["id"], interval=0, sleep=_no_sleep)
    record_finished(
        job, metrics=job_metrics(trainer, job["id"], events), record=record, run_id=started.run_id
    )
    (run,) = list_runs("finetune", store=store)
    assert run.status == "succeeded"
    assert run.outputs["model"] == "local:/runs/run-1"
    assert run.outputs["steps"] == 3
    assert run.outputs["metrics"]["train_loss"] == pytest.approx(2.0 / 3)


def test_a_backend_that_refuses_is_recorded_failed_with_its_line(store) -> None:
    trainer = StepTrainer(refuse="runs/a: not writable")
    with pytest.raises(FtkitError, match="runs/a: not writable"):
        start_job(trainer, REQUEST, record=store_recorder(store, "ana"))
    (run,) = list_runs("finetune", store=store)
    assert run.status == "failed" and run.outputs == {"error": "runs/a: not writable"}


def test_the_summary_names_the_backend_model_and_loss() -> None:
    trainer = StepTrainer(steps=3)
    job_id = trainer.start(REQUEST)["id"]
    job, events = follow_job(trainer, job_id, interval=0, sleep=_no_sleep)
    shown = summary("fake-local", job, job_metrics(trainer, job_id, events), out="/runs/run-1")
    assert shown == {
        "backend": "fake-local",
        "status": "succeeded",
        "model": "local:/runs/run-1",
        "job_id": "run-1",
        "base_model": "tiny",
        "metrics": {"steps": 3, "first_loss": 2.0, "last_loss": pytest.approx(2.0 / 3)},
        "out": "/runs/run-1",
    }
