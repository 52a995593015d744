"""Watching a training job on any backend: what it is now, following it to the end, its tables.

``view_job`` fetches one look at a job (the job, its recent events, its checkpoints and the
metrics charted from them); ``follow_job`` polls until the job ends, reporting each new event.
Both take a ``Trainer``, so the dashboard's monitor and ``python -m ftkit finetune --wait``
watch an OpenAI job and a local run alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ftkit.api import Sleep
from ftkit.errors import FtkitError
from ftkit.training.events import CheckpointInfo, EventInfo, MetricRow, collect_metrics
from ftkit.training.jobs import JobInfo, poll_job
from ftkit.training.trainer import Trainer

__all__ = [
    "JobView",
    "checkpoint_rows",
    "event_rows",
    "follow_job",
    "format_time",
    "job_metrics",
    "view_job",
]


@dataclass(frozen=True)
class JobView:
    """One look at a job: the job, its recent events (newest first), checkpoints and metrics."""

    job: JobInfo
    events: list[EventInfo]
    checkpoints: list[CheckpointInfo]
    metrics: list[MetricRow]


def view_job(trainer: Trainer, job_id: str, *, limit: int = 100) -> JobView:
    """Return the job with its last ``limit`` events, its checkpoints and its metrics.

    When those events are all the job has, the metrics come from them; otherwise the
    backend is asked for the whole series.
    """
    job = trainer.retrieve(job_id)
    events = trainer.events(job_id, limit=limit)
    points = trainer.checkpoints(job_id) if job["status"] != "validating_files" else []
    complete = len(events) < limit
    metrics = collect_metrics(events, points) if complete else trainer.metrics(job_id)
    return JobView(job, events, points, metrics)


def follow_job(
    trainer: Trainer,
    job_id: str,
    *,
    interval: float = 15.0,
    on_event: Callable[[JobInfo, EventInfo], None] | None = None,
    sleep: Sleep = time.sleep,
    timeout: float = 4 * 3600.0,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[JobInfo, list[EventInfo]]:
    """Poll until the job ends, calling ``on_event`` once per new event, oldest first.

    Returns the finished job and every event seen; ``WaitTimeoutError`` after ``timeout``
    seconds (the job keeps running).
    """
    seen: dict[str, EventInfo] = {}

    def report(job: JobInfo) -> None:
        for event in reversed(trainer.events(job_id, limit=50)):
            if event["id"] not in seen:
                seen[event["id"]] = event
                if on_event is not None:
                    on_event(job, event)

    job = poll_job(
        trainer.retrieve,
        job_id,
        on_update=report,
        interval=max(0.0, interval),
        sleep=sleep,
        timeout=timeout,
        clock=clock,
    )
    return job, list(seen.values())


def job_metrics(trainer: Trainer, job_id: str, events: Sequence[EventInfo]) -> list[MetricRow]:
    """Return the job's metrics per step; from ``events`` alone if the backend cannot say."""
    try:
        return trainer.metrics(job_id)
    except FtkitError:
        return collect_metrics(events)


def format_time(stamp: int | None) -> str:
    """Return a Unix time as "YYYY-MM-DD HH:MM UTC", or "-" when there is none."""
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC") if stamp else "-"


def event_rows(events: Sequence[EventInfo]) -> list[dict[str, str]]:
    """Return the events as table rows: time, level and message."""
    return [
        {"time": format_time(e["created_at"]), "level": e["level"], "message": e["message"]}
        for e in events
    ]


def checkpoint_rows(points: Sequence[CheckpointInfo]) -> list[dict[str, Any]]:
    """Return the checkpoints as table rows: step, checkpoint model and its metrics."""
    return [
        {
            "step": p["step_number"],
            "checkpoint model": p["fine_tuned_model_checkpoint"],
            **p["metrics"],
        }
        for p in points
    ]
