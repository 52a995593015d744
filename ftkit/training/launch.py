"""Start a training job on any backend and record it: the one place that orchestrates a job.

``start_job`` records the run ("running", with its backend), starts the job through the
``Trainer`` carrying the run's id (at most once, by the backend's idempotency key) and records
the outcome: the job, or "failed" with the one-line reason. ``upload_recorded`` uploads a
file and records the upload; ``record_finished`` records how a finished job ended. Each takes
``record``, the caller's ``Recorder`` (the dashboard shows one caption on a history error, the
CLI prints one note), or None to record nothing. The dashboard and the CLI both call these;
neither writes the steps out itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from ftkit.errors import FtkitError
from ftkit.history import update_run
from ftkit.history.recorder import Recorder
from ftkit.history.recording import (
    finetune_settings,
    finish_linked_finetune,
    record_upload,
    request_settings,
    start_finetune,
    update_finetune,
)
from ftkit.training.events import MetricRow
from ftkit.training.files import UploadResult, upload_file
from ftkit.training.jobs import JobInfo, is_terminal
from ftkit.training.large_files import Progress
from ftkit.training.models import DEFAULT_MODEL
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.trainer import Trainer, TrainRequest

__all__ = [
    "Started",
    "parse_auto",
    "record_finished",
    "start_job",
    "upload_recorded",
]


@dataclass(frozen=True)
class Started:
    """A created job and the history run that records it (None when not recorded)."""

    job: JobInfo
    run_id: int | None


def parse_auto(text: str, kind: type[int] | type[float]) -> int | float | str:
    """Return ``text`` as a number of ``kind``, or "auto" for blank or "auto"."""
    text = text.strip().lower()
    if text in ("", "auto"):
        return "auto"
    try:
        return kind(text)
    except ValueError:
        raise FtkitError(f"{text!r} is not a number or auto") from None


def upload_recorded(
    client: openai.OpenAI,
    path: str | os.PathLike[str],
    *,
    endpoint: str,
    record: Recorder | None,
    model: str = DEFAULT_MODEL,
    wait: bool = True,
    fresh: bool = False,
    override: bool = False,
    override_hint: str = "upload it anyway with the override",
    on_progress: Progress | None = None,
) -> UploadResult:
    """Upload ``path`` (or reuse its earlier upload) and record the upload; return the result.

    ``model`` is the one the pre-flight check counts tokens for; ``wait`` waits until the
    file is processed.
    """
    result = upload_file(
        client,
        path,
        endpoint=endpoint,
        model=model,
        wait=wait,
        fresh=fresh,
        override=override,
        override_hint=override_hint,
        on_progress=on_progress,
    )
    if record is not None:
        record(lambda store, user: record_upload(result, endpoint=endpoint, user=user, store=store))
    return result


def start_job(
    trainer: Trainer,
    request: TrainRequest,
    *,
    record: Recorder | None,
    run_id: str | None = None,
) -> Started:
    """Record the run, start the job once and record the outcome; return the job and run id.

    The job's idempotency key is ``run_id`` if given, else the history run's id. A refused
    start is recorded as "failed" with its one-line reason, then re-raised (``FtkitError``).
    A request OpenAI refuses before any request is sent is not recorded.
    """
    history_id = None
    if record is not None and _sendable(trainer, request):
        settings = _settings(trainer, request)
        history_id = record(lambda store, user: start_finetune(settings, user=user, store=store))
    key = run_id or (None if history_id is None else str(history_id))
    try:
        job = trainer.start(request, run_id=key)
    except FtkitError as err:
        if record is not None and history_id is not None:
            _record_failed(record, history_id, str(err))
        raise
    if record is not None and history_id is not None:
        _record_created(record, history_id, job)
    return Started(job, history_id)


def _sendable(trainer: Trainer, request: TrainRequest) -> bool:
    """Return False for a request the OpenAI backend refuses before sending anything."""
    if not isinstance(trainer, OpenAITrainer):
        return True
    try:
        return not trainer.spec(request).problems()
    except FtkitError:
        return False


def _settings(trainer: Trainer, request: TrainRequest) -> dict[str, Any]:
    """Return what the run records: the OpenAI job's spec, or the request itself."""
    if isinstance(trainer, OpenAITrainer):
        spec = trainer.spec(request)
        return finetune_settings(spec, endpoint=trainer.endpoint, backend=trainer.backend)
    endpoint = str(getattr(trainer, "endpoint", "") or "")  # a hosted backend may have one
    return request_settings(request, backend=trainer.backend, endpoint=endpoint)


def _record_failed(record: Recorder, run_id: int, reason: str) -> None:
    """Record that the job was not created, with the one-line reason."""
    failed = {"error": reason}
    record(lambda store, _: update_run(run_id, outputs=failed, status="failed", store=store))


def _record_created(record: Recorder, run_id: int, job: JobInfo) -> None:
    """Record the created job (its id and status) on its run."""
    record(lambda store, _: update_finetune(run_id, job, store=store))


def record_finished(
    job: JobInfo,
    *,
    metrics: Sequence[MetricRow],
    record: Recorder | None,
    run_id: int | None = None,
) -> None:
    """Record how a finished job ended (model, tokens, final metrics) on its history run.

    The run is ``run_id`` when given, else the one the job's metadata names while it still
    says "running". A job that can still change records nothing.
    """
    if record is None or not is_terminal(job["status"]):
        return
    if run_id is None:
        record(lambda store, _: finish_linked_finetune(job, metrics=metrics, store=store))
    else:
        record(lambda store, _: update_finetune(run_id, job, metrics=metrics, store=store))
