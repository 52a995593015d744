"""A job's events and checkpoints, and the training metrics charted from them.

Metric events (``type == "metrics"``) carry ``step``, ``train_loss``, ``valid_loss`` and the
mean token accuracies; checkpoints carry the same at their step plus the full validation loss.
``collect_metrics`` merges both into one row per step, oldest first, ready for a chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypedDict

import openai
from openai.types.fine_tuning import FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint

from ftkit.api import calling

__all__ = [
    "METRIC_NAMES",
    "CheckpointInfo",
    "EventInfo",
    "MetricRow",
    "collect_metrics",
    "list_all_events",
    "list_checkpoints",
    "list_events",
]

METRIC_NAMES: tuple[str, ...] = (
    "train_loss",
    "valid_loss",
    "full_valid_loss",
    "train_mean_token_accuracy",
    "valid_mean_token_accuracy",
    "full_valid_mean_token_accuracy",
)


class EventInfo(TypedDict):
    """One job event."""

    id: str
    created_at: int
    level: str
    message: str
    type: str | None
    data: dict[str, Any] | None


class CheckpointInfo(TypedDict):
    """One checkpoint: the model name to call, its step and metrics."""

    id: str
    created_at: int
    fine_tuned_model_checkpoint: str
    step_number: int
    metrics: dict[str, float]


class MetricRow(TypedDict, total=False):
    """Metrics at one step; only the metrics reported at that step are present."""

    step: int
    train_loss: float
    valid_loss: float
    full_valid_loss: float
    train_mean_token_accuracy: float
    valid_mean_token_accuracy: float
    full_valid_mean_token_accuracy: float


def _event(event: FineTuningJobEvent) -> EventInfo:
    data = event.data if isinstance(event.data, dict) else None
    return EventInfo(
        id=event.id,
        created_at=event.created_at,
        level=event.level,
        message=event.message,
        type=event.type,
        data=data,
    )


def _checkpoint(point: FineTuningJobCheckpoint) -> CheckpointInfo:
    metrics = {k: float(v) for k, v in point.metrics.model_dump(exclude_none=True).items()}
    return CheckpointInfo(
        id=point.id,
        created_at=point.created_at,
        fine_tuned_model_checkpoint=point.fine_tuned_model_checkpoint,
        step_number=point.step_number,
        metrics=metrics,
    )


def list_events(client: openai.OpenAI, job_id: str, *, limit: int = 100) -> list[EventInfo]:
    """Return up to ``limit`` of the job's events, newest first."""
    with calling(f"{job_id}: listing events"):
        page = client.fine_tuning.jobs.list_events(job_id, limit=limit)
        events = [_event(item) for item in page.data]
    return sorted(events, key=lambda e: e["created_at"], reverse=True)


def list_all_events(client: openai.OpenAI, job_id: str, *, cap: int = 20_000) -> list[EventInfo]:
    """Return the job's events page by page (at most ``cap``), newest first."""
    events: list[EventInfo] = []
    with calling(f"{job_id}: listing events"):
        for item in client.fine_tuning.jobs.list_events(job_id, limit=100):
            events.append(_event(item))
            if len(events) >= cap:
                break
    return sorted(events, key=lambda e: e["created_at"], reverse=True)


def list_checkpoints(client: openai.OpenAI, job_id: str) -> list[CheckpointInfo]:
    """Return the job's checkpoints, latest step first."""
    with calling(f"{job_id}: listing checkpoints"):
        page = client.fine_tuning.jobs.checkpoints.list(job_id, limit=100)
        points = [_checkpoint(item) for item in page.data]
    return sorted(points, key=lambda c: c["step_number"], reverse=True)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def collect_metrics(
    events: Sequence[EventInfo], checkpoints: Sequence[CheckpointInfo] = ()
) -> list[MetricRow]:
    """Return one row per step from metric events and checkpoints, oldest step first."""
    rows: dict[int, dict[str, float]] = {}
    for event in events:
        data = event["data"]
        if event["type"] != "metrics" or not data or _number(data.get("step")) is None:
            continue
        row = rows.setdefault(int(data["step"]), {})
        for name in METRIC_NAMES:
            value = _number(data.get(name))
            if value is not None:
                row[name] = value
    for point in checkpoints:
        row = rows.setdefault(point["step_number"], {})
        for name, value in point["metrics"].items():
            if name in METRIC_NAMES:
                row.setdefault(name, value)
    result: list[MetricRow] = []
    for step, values in sorted(rows.items()):
        metric = MetricRow(step=step)
        metric.update(values)  # type: ignore[typeddict-item]
        result.append(metric)
    return result
