"""Fine-tuning jobs: create (at most once), retrieve, list, cancel, pause, resume and wait.

``create_job`` sends the lecture's parameters through ``method`` (the top-level
``hyperparameters`` argument is deprecated) and puts a run id in the job's metadata. After a
timeout or a lost response it looks for a job carrying that run id before trying again, so a
retry never creates a second job. A 403 becomes ``FineTuningClosedError`` with one line naming
OpenAI's wind-down dates and the ways forward. ``poll_job``, the wait loop, takes any
backend's ``retrieve``; ``wait_for_job`` is that loop for OpenAI.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import openai
from openai.types.fine_tuning import FineTuningJob

from ftkit.api import Sleep, api_error, calling, create_once, optional, require, shown_text
from ftkit.errors import ApiError, FineTuningClosedError, FtkitError, WaitTimeoutError
from ftkit.training.lost_uploads import MAX_CLOCK_SKEW
from ftkit.training.models import DEFAULT_MODEL

__all__ = [
    "CLOSED_MESSAGE",
    "DEFAULT_SEED",
    "DEFAULT_SUFFIX",
    "MAX_SUFFIX",
    "RUN_ID_KEY",
    "TERMINAL",
    "JobInfo",
    "JobSpec",
    "JobStatus",
    "Wandb",
    "cancel_job",
    "create_job",
    "is_terminal",
    "job_info",
    "list_jobs",
    "pause_job",
    "poll_job",
    "resume_job",
    "retrieve_job",
    "wait_for_job",
]

JobStatus = Literal[
    "validating_files", "queued", "running", "paused", "succeeded", "failed", "cancelled"
]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
DEFAULT_SEED = 42
DEFAULT_SUFFIX = "pricer"
MAX_SUFFIX = 64
RUN_ID_KEY = "ftkit_run_id"
Auto = Literal["auto"]

CLOSED_MESSAGE = (
    "OpenAI refused to create the fine-tuning job (403 permission denied{request}). The likely "
    "cause is OpenAI's wind-down of self-serve fine-tuning: organisations that never fine-tuned "
    "are blocked since 2026-05-07, those with no fine-tuned-model use in 60 days since "
    "2026-07-02, everyone from 2027-01-06. Ways forward: Azure OpenAI (set "
    "AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, OPENAI_API_VERSION; `python -m ftkit "
    "finetune --backend azure`), Together or Fireworks (`finetune --backend together|fireworks`), "
    "this computer (`finetune --backend local`), an OpenAI-compatible endpoint (set "
    "OPENAI_BASE_URL), or `python -m ftkit export` to train elsewhere. Uploaded files stay usable."
)


@dataclass(frozen=True)
class Wandb:
    """A Weights & Biases integration: the project, and optionally the entity and tags."""

    project: str
    entity: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobSpec:
    """What to train: the lecture's defaults, with every hyperparameter allowed to be "auto"."""

    training_file: str
    validation_file: str | None = None
    model: str = DEFAULT_MODEL
    n_epochs: int | Auto = 1
    batch_size: int | Auto = "auto"
    learning_rate_multiplier: float | Auto = "auto"
    seed: int | None = DEFAULT_SEED
    suffix: str | None = DEFAULT_SUFFIX
    wandb: Wandb | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)  # provider-only fields (Azure's)

    def problems(self) -> list[str]:
        """Return what is wrong with the spec, one line each (empty when it can be sent)."""
        found = []
        if not self.training_file.strip():
            found.append("training file: an uploaded file id is required")
        if self.suffix is not None and len(self.suffix) > MAX_SUFFIX:
            found.append(f"suffix: {len(self.suffix)} characters, at most {MAX_SUFFIX}")
        if isinstance(self.n_epochs, int) and not 1 <= self.n_epochs <= 50:
            found.append(f"epochs: must be from 1 to 50, got {self.n_epochs}")
        if isinstance(self.batch_size, int) and not 1 <= self.batch_size <= 256:
            found.append(f"batch size: must be from 1 to 256, got {self.batch_size}")
        lr = self.learning_rate_multiplier
        if not isinstance(lr, str) and not 0 < lr <= 10:
            found.append(f"learning rate multiplier: must be over 0 and at most 10, got {lr}")
        if len(self.metadata) > 15:
            found.append("metadata: at most 15 pairs (ftkit adds its run id as the 16th)")
        return found


class JobError(TypedDict):
    """Why a job failed: the code, the message and the parameter at fault."""

    code: str
    message: str
    param: str | None


class JobInfo(TypedDict):
    """A job as plain data, for the monitor, the CLI's ``--json`` and session state."""

    id: str
    status: str
    model: str
    fine_tuned_model: str | None
    created_at: int
    finished_at: int | None
    estimated_finish: int | None
    trained_tokens: int | None
    training_file: str
    validation_file: str | None
    seed: int | None
    hyperparameters: dict[str, Any]
    metadata: dict[str, str]
    error: JobError | None


def job_info(job: FineTuningJob) -> JobInfo:
    """Return the plain-data view of an SDK job."""
    hyper: dict[str, Any] = {}
    method = job.method
    if method is not None and method.supervised is not None and method.supervised.hyperparameters:
        hyper = method.supervised.hyperparameters.model_dump(exclude_none=True)
    elif job.hyperparameters is not None:
        hyper = job.hyperparameters.model_dump(exclude_none=True)
    error = None
    if job.error is not None and (job.error.message or job.error.code):
        error = JobError(
            code=optional(job.error.code, str, "error.code") or "",
            message=shown_text(optional(job.error.message, str, "error.message") or ""),
            param=optional(job.error.param, str, "error.param"),
        )
    return JobInfo(
        id=require(job.id, str, "id"),
        status=require(job.status, str, "status"),
        model=require(job.model, str, "model"),
        fine_tuned_model=optional(job.fine_tuned_model, str, "fine_tuned_model"),
        created_at=require(job.created_at, int, "created_at"),
        finished_at=optional(job.finished_at, int, "finished_at"),
        estimated_finish=optional(job.estimated_finish, int, "estimated_finish"),
        trained_tokens=optional(job.trained_tokens, int, "trained_tokens"),
        training_file=require(job.training_file, str, "training_file"),
        validation_file=optional(job.validation_file, str, "validation_file"),
        seed=optional(job.seed, int, "seed"),
        hyperparameters=hyper,
        metadata={
            str(k): str(v) for k, v in (optional(job.metadata, dict, "metadata") or {}).items()
        },
        error=error,
    )


def _create_params(spec: JobSpec, run_id: str) -> dict[str, Any]:
    """Return the keyword arguments for ``fine_tuning.jobs.create``."""
    hyper = {
        "n_epochs": spec.n_epochs,
        "batch_size": spec.batch_size,
        "learning_rate_multiplier": spec.learning_rate_multiplier,
    }
    params: dict[str, Any] = {
        "model": spec.model,
        "training_file": spec.training_file,
        "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
        "metadata": {**spec.metadata, RUN_ID_KEY: run_id},
    }
    if spec.validation_file:
        params["validation_file"] = spec.validation_file
    if spec.seed is not None:
        params["seed"] = spec.seed
    if spec.suffix:
        params["suffix"] = spec.suffix
    if spec.wandb is not None:
        wandb: dict[str, Any] = {"project": spec.wandb.project}
        if spec.wandb.entity:
            wandb["entity"] = spec.wandb.entity
        if spec.wandb.tags:
            wandb["tags"] = list(spec.wandb.tags)
        params["integrations"] = [{"type": "wandb", "wandb": wandb}]
    if spec.extra_body:
        params["extra_body"] = dict(spec.extra_body)
    return params


def _find_by_run_id(
    client: openai.OpenAI, run_id: str, training_file: str, since: int
) -> FineTuningJob | None:
    """Return the job this attempt created: carrying ``run_id``, on the same file, not older.

    A history run id is a small number that another database may also use, so the file and
    the creation time must match too.
    """
    page = client.fine_tuning.jobs.list(limit=50, metadata={RUN_ID_KEY: run_id})
    for job in page.data:
        same = (job.metadata or {}).get(RUN_ID_KEY) == run_id
        if same and job.training_file == training_file and job.created_at >= since:
            return job
    return None


def _creation_error(err: openai.OpenAIError) -> FtkitError:
    """Return the error for a refused creation: the wind-down line for 403, else one line."""
    if isinstance(err, openai.PermissionDeniedError):
        request = f", request id {err.request_id}" if err.request_id else ""
        return FineTuningClosedError(
            CLOSED_MESSAGE.format(request=request), status=403, request_id=err.request_id
        )
    return api_error(err, "creating the fine-tuning job")


def create_job(
    client: openai.OpenAI,
    spec: JobSpec,
    *,
    run_id: str | None = None,
    sleep: Sleep = time.sleep,
    attempts: int = 4,
) -> JobInfo:
    """Create the job once; return it. Raises ``ApiError``/``FineTuningClosedError``."""
    problems = spec.problems()
    if problems:
        raise ApiError("; ".join(problems))
    run = run_id or uuid.uuid4().hex
    params = _create_params(spec, run)
    jobs = client.with_options(max_retries=0).fine_tuning.jobs
    since = int(time.time()) - MAX_CLOCK_SKEW  # the server's clock may run behind ours

    def find() -> FineTuningJob | None:
        return _find_by_run_id(client, run, spec.training_file, since)

    job = create_once(
        lambda: jobs.create(**params),
        find,
        action="creating the fine-tuning job",
        attempts=attempts,
        sleep=sleep,
        # Azure's 403 is its own (a role or region), never OpenAI's wind-down
        translate=None if isinstance(client, openai.AzureOpenAI) else _creation_error,
    )
    with calling("creating the fine-tuning job"):
        return job_info(job)


def retrieve_job(client: openai.OpenAI, job_id: str) -> JobInfo:
    """Return one job."""
    with calling(f"{job_id}: looking up the job"):
        return job_info(client.fine_tuning.jobs.retrieve(job_id))


def list_jobs(client: openai.OpenAI, *, limit: int = 20) -> list[JobInfo]:
    """Return up to ``limit`` jobs, newest first."""
    with calling("listing fine-tuning jobs"):
        return [job_info(job) for job in client.fine_tuning.jobs.list(limit=limit).data]


def cancel_job(client: openai.OpenAI, job_id: str) -> JobInfo:
    """Cancel a job; return it."""
    with calling(f"{job_id}: cancelling the job"):
        return job_info(client.fine_tuning.jobs.cancel(job_id))


def pause_job(client: openai.OpenAI, job_id: str) -> JobInfo:
    """Pause a running job; return it."""
    with calling(f"{job_id}: pausing the job"):
        return job_info(client.fine_tuning.jobs.pause(job_id))


def resume_job(client: openai.OpenAI, job_id: str) -> JobInfo:
    """Resume a paused job; return it."""
    with calling(f"{job_id}: resuming the job"):
        return job_info(client.fine_tuning.jobs.resume(job_id))


def wait_for_job(
    client: openai.OpenAI,
    job_id: str,
    *,
    timeout: float = 4 * 3600.0,
    interval: float = 15.0,
    sleep: Sleep = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_update: Callable[[JobInfo], None] | None = None,
) -> JobInfo:
    """Poll until the job succeeds, fails or is cancelled; ``WaitTimeoutError`` at the deadline."""
    return poll_job(
        lambda job: retrieve_job(client, job),
        job_id,
        timeout=timeout,
        interval=interval,
        sleep=sleep,
        clock=clock,
        on_update=on_update,
    )


def poll_job(
    retrieve: Callable[[str], JobInfo],
    job_id: str,
    *,
    timeout: float = 4 * 3600.0,
    interval: float = 15.0,
    sleep: Sleep = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_update: Callable[[JobInfo], None] | None = None,
) -> JobInfo:
    """Call ``retrieve`` until the job has ended; ``WaitTimeoutError`` at the deadline.

    Any backend's job works: ``retrieve`` is a trainer's ``retrieve``. ``timeout`` and
    ``interval`` are in seconds; ``on_update`` sees the job after every look.
    """
    deadline = clock() + timeout
    while True:
        job = retrieve(job_id)
        if on_update is not None:
            on_update(job)
        if job["status"] in TERMINAL:
            return job
        if clock() + interval > deadline:
            raise WaitTimeoutError(
                f"{job_id}: still {job['status']} after {timeout:.0f} s; the job keeps running "
                f"(python -m ftkit jobs show {job_id})"
            )
        sleep(interval)


def is_terminal(status: str) -> bool:
    """Return True once a job can no longer change."""
    return status in TERMINAL
