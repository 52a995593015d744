"""Together's replies as ftkit's plain data: jobs, events, checkpoints and metric rows.

Pure functions over the SDK's pydantic objects (read through ``model_dump``), so a job on
Together is watched, charted and recorded like any other. Together's statuses map onto
ftkit's; a reply missing a field ftkit needs raises ``ValueError`` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from ftkit.api import optional, require, shown_text
from ftkit.training.events import CheckpointInfo, EventInfo, MetricRow
from ftkit.training.jobs import JobError, JobInfo

__all__ = [
    "STATUSES",
    "checkpoint_info",
    "event_info",
    "job_info",
    "metric_rows",
    "price_line",
    "status_of",
    "timestamp",
]

STATUSES = {
    "pending": "queued",
    "queued": "queued",
    "running": "running",
    "compressing": "running",
    "uploading": "running",
    "cancel_requested": "running",
    "cancelled": "cancelled",
    "error": "failed",
    "user_error": "failed",
    "completed": "succeeded",
}
TERMINAL = ("cancelled", "failed", "succeeded")
# Together's metric names (W&B style) -> ftkit's
METRIC_KEYS = {"train/loss": "train_loss", "eval/loss": "valid_loss"}
STEP_KEYS = ("train/global_step", "global_step", "step")


def _text(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def status_of(value: Any) -> str:
    """Return ftkit's status for Together's; an unknown one is named, not guessed."""
    status = require(_text(value), str, "status")
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one ftkit knows")
    return STATUSES[status]


def timestamp(value: Any) -> int:
    """Return seconds since the epoch for a datetime or an ISO 8601 text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(require(value, datetime, "created_at").timestamp())


def _hyperparameters(job: Mapping[str, Any]) -> dict[str, Any]:
    hyper = {k: job[k] for k in ("n_epochs", "batch_size", "learning_rate") if job.get(k)}
    kind = job.get("training_type") or {}
    for key in ("lora_r", "lora_alpha"):
        if isinstance(kind, Mapping) and kind.get(key) is not None:
            hyper[key] = kind[key]
    return hyper


def job_info(sdk_job: Any) -> JobInfo:
    """Return the plain-data view of a Together job (any of the SDK's job shapes)."""
    job: dict[str, Any] = sdk_job.model_dump(by_alias=True)
    status = status_of(job.get("status"))
    progress = job.get("progress") or {}
    remaining = progress.get("seconds_remaining") if progress.get("estimate_available") else None
    updated = job.get("updated_at")
    return JobInfo(
        id=require(job.get("id"), str, "id"),
        status=status,
        model=optional(job.get("model"), str, "model") or "",
        fine_tuned_model=optional(job.get("model_output_name"), str, "model_output_name"),
        created_at=timestamp(job.get("created_at")),
        finished_at=timestamp(updated) if status in TERMINAL and updated else None,
        estimated_finish=int(timestamp(updated) + remaining) if remaining and updated else None,
        trained_tokens=optional(job.get("token_count"), int, "token_count"),
        training_file=optional(job.get("training_file"), str, "training_file") or "",
        validation_file=optional(job.get("validation_file"), str, "validation_file") or None,
        seed=optional(job.get("random_seed"), int, "random_seed"),
        hyperparameters=_hyperparameters(job),
        metadata={"suffix": job["suffix"]} if job.get("suffix") else {},
        error=_error(job) if status == "failed" else None,
    )


def _error(job: Mapping[str, Any]) -> JobError | None:
    """Return why the job failed, from its last error event, if the reply carries one."""
    events = [e for e in job.get("events") or [] if isinstance(e, Mapping)]
    errors = [e for e in events if _text(e.get("level")) == "error" and e.get("message")]
    if not errors:
        return None
    last = errors[-1]
    return JobError(
        code=str(_text(last.get("type")) or "error"),
        message=shown_text(str(last["message"])),
        param=None,
    )


def event_info(job_id: str, index: int, sdk_event: Any) -> EventInfo:
    """Return one Together event as ftkit's: its level, words, type and step."""
    event: dict[str, Any] = sdk_event.model_dump(by_alias=True)
    data = {k: event[k] for k in ("step", "total_steps", "checkpoint_path") if event.get(k)}
    return EventInfo(
        id=f"{job_id}-event-{index}",
        created_at=timestamp(event.get("created_at")),
        level=str(_text(event.get("level")) or "info").removeprefix("legacy_"),
        message=shown_text(str(event.get("message") or "")),
        type=str(_text(event.get("type"))).lower() if event.get("type") else None,
        data=data or None,
    )


def checkpoint_info(job_id: str, sdk_point: Any) -> CheckpointInfo:
    """Return one checkpoint: its registry name, else ``JOB:STEP`` (Together's reference)."""
    point: dict[str, Any] = sdk_point.model_dump(by_alias=True)
    step = require(point.get("step"), int, "step")
    name = optional(point.get("object_name"), str, "object_name") or f"{job_id}:{step}"
    return CheckpointInfo(
        id=f"{job_id}:{step}",
        created_at=timestamp(point.get("created_at")),
        fine_tuned_model_checkpoint=name,
        step_number=step,
        metrics={},
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def metric_rows(metrics: Sequence[Mapping[str, Any]]) -> list[MetricRow]:
    """Return one row per step from Together's metric records, oldest step first."""
    rows: dict[int, dict[str, float]] = {}
    for record in metrics:
        step = next((_number(record.get(k)) for k in STEP_KEYS if k in record), None)
        if step is None:
            continue
        row = rows.setdefault(int(step), {})
        for key, name in METRIC_KEYS.items():
            value = _number(record.get(key))
            if value is not None:
                row[name] = value
    result: list[MetricRow] = []
    for step, values in sorted(rows.items()):
        metric = MetricRow(step=step)
        metric.update(values)  # type: ignore[typeddict-item]
        result.append(metric)
    return result


def price_line(found: Any) -> str:
    """Return Together's price estimate as one line."""
    if not found.estimation_available:
        return f"Together cannot estimate this run yet ({found.unavailable_reason})"
    price = found.estimated_total_price or 0.0
    tokens = int(found.estimated_train_token_count or 0)
    line = f"Together estimates ${price:,.2f} for about {tokens:,} training tokens"
    if found.estimated_eval_token_count:
        line += f" and {int(found.estimated_eval_token_count):,} validation tokens"
    if found.allowed_to_proceed is False:
        line += f"; that is over your account's limit (${found.user_limit or 0:,.2f})"
    return line
