"""Watching a fine-tuning job: what it is now, following it to the end, and its tables.

``view_job`` fetches one look at a job (the job, its recent events, its checkpoints and the
metrics charted from them); ``follow_job`` polls until the job ends, reporting each new event.
The dashboard's monitor and ``python -m ftkit finetune --wait`` both use them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import openai

from ftkit.api import Sleep
from ftkit.errors import FtkitError
from ftkit.training.events import (
    CheckpointInfo,
    EventInfo,
    MetricRow,
    collect_metrics,
    list_checkpoints,
    list_events,
)
from ftkit.training.jobs import JobInfo, retrieve_job, wait_for_job

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


def view_job(client: openai.OpenAI, job_id: str, *, limit: int = 100) -> JobView:
    """Return the job with its last ``limit`` events, its checkpoints and their metrics."""
    job = retrieve_job(client, job_id)
    events = list_events(client, job_id, limit=limit)
    points = list_checkpoints(client, job_id) if job["status"] != "validating_files" else []
    return JobView(job, events, points, collect_metrics(events, points))


def follow_job(
    client: openai.OpenAI,
    job_id: str,
    *,
    interval: float = 15.0,
    on_event: Callable[[JobInfo, EventInfo], None] | None = None,
    sleep: Sleep = time.sleep,
) -> tuple[JobInfo, list[EventInfo]]:
    """Poll until the job ends, calling ``on_event`` once per new event, oldest first.

    Returns the finished job and every event seen; ``WaitTimeoutError`` after four hours.
    """
    seen: dict[str, EventInfo] = {}

    def report(job: JobInfo) -> None:
        for event in reversed(list_events(client, job_id, limit=50)):
            if event["id"] not in seen:
                seen[event["id"]] = event
                if on_event is not None:
                    on_event(job, event)

    job = wait_for_job(client, job_id, on_update=report, interval=max(0.0, interval), sleep=sleep)
    return job, list(seen.values())


def job_metrics(client: openai.OpenAI, job_id: str, events: Sequence[EventInfo]) -> list[MetricRow]:
    """Return the metrics of ``events`` and the job's checkpoints (left out if unlistable)."""
    try:
        points = list_checkpoints(client, job_id)
    except FtkitError:
        points = []
    return collect_metrics(events, points)


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
