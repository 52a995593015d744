"""OpenAI's fine-tuning API (and Azure's, and compatible endpoints') as one ``Trainer`` backend.

``OpenAITrainer`` maps a ``TrainRequest`` onto the ``JobSpec`` that ``create_job`` sends and wraps
the job functions, so the monitor, launch and the CLI treat an OpenAI job like any other run.
The request's files must already be uploaded (``upload_recorded`` does that); the LoRA fields,
``max_steps``, ``out`` and ``merge`` are refused with one line, as OpenAI chooses those itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import openai

from ftkit.errors import FtkitError, ProviderError
from ftkit.training.events import (
    CheckpointInfo,
    EventInfo,
    MetricRow,
    collect_metrics,
    list_all_events,
    list_checkpoints,
    list_events,
)
from ftkit.training.jobs import (
    JobInfo,
    JobSpec,
    Wandb,
    cancel_job,
    create_job,
    resume_job,
    retrieve_job,
)
from ftkit.training.models import DEFAULT_MODEL
from ftkit.training.trainer import TrainRequest

__all__ = ["OpenAITrainer", "refused_fields"]

_DEFAULTS = TrainRequest(training_file="")


def refused_fields(request: TrainRequest) -> list[str]:
    """Return one line per field of ``request`` that OpenAI's fine-tuning does not take."""
    found = []
    if request.max_steps is not None:
        found.append("OpenAI does not take --max-steps; set --epochs instead")
    if (request.lora_r, request.lora_alpha) != (_DEFAULTS.lora_r, _DEFAULTS.lora_alpha):
        found.append("OpenAI does not take --lora-r or --lora-alpha; it trains the whole model")
    if request.qlora:
        found.append("OpenAI does not take --qlora; it trains the whole model")
    if request.out:
        found.append("OpenAI does not take --out; the model stays on the endpoint as ft:...")
    if request.merge:
        found.append("OpenAI does not take --merge; there is no adapter to merge")
    if request.training_type:
        found.append("OpenAI does not take --training-type; it is Azure OpenAI's (--backend azure)")
    return found


class OpenAITrainer:
    """Fine-tuning jobs on an OpenAI, Azure OpenAI or OpenAI-compatible endpoint."""

    def __init__(
        self,
        client: openai.OpenAI,
        endpoint: str,
        *,
        backend: str = "openai",
        wandb: Wandb | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.endpoint = endpoint
        self.backend = backend
        self.wandb = wandb
        self.metadata = dict(metadata or {})

    def spec(self, request: TrainRequest) -> JobSpec:
        """Return the job ``request`` asks for; ``ProviderError`` for a field OpenAI refuses."""
        refused = refused_fields(request)
        if refused:
            raise ProviderError("; ".join(refused))
        return JobSpec(
            training_file=request.training_file,
            validation_file=request.validation_file,
            model=request.base_model or DEFAULT_MODEL,
            n_epochs=request.epochs,
            batch_size=request.batch_size,
            learning_rate_multiplier=request.learning_rate,
            seed=request.seed,
            suffix=request.suffix,
            wandb=self.wandb,
            metadata=dict(self.metadata),
        )

    def start(self, request: TrainRequest, *, run_id: str | None = None) -> JobInfo:
        """Create the job (at most once for ``run_id``) and return it."""
        return create_job(self.client, self.spec(request), run_id=run_id)

    def retrieve(self, job_id: str) -> JobInfo:
        """Return the job as it is now."""
        return retrieve_job(self.client, job_id)

    def events(self, job_id: str, *, limit: int = 100) -> list[EventInfo]:
        """Return up to ``limit`` of the job's events, newest first."""
        return list_events(self.client, job_id, limit=limit)

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]:
        """Return the job's checkpoints, latest step first."""
        return list_checkpoints(self.client, job_id)

    def metrics(self, job_id: str) -> list[MetricRow]:
        """Return the metrics of all the job's events and checkpoints, oldest step first.

        Checkpoints that cannot be listed are left out rather than losing the curve.
        """
        events = list_all_events(self.client, job_id)
        try:
            points = list_checkpoints(self.client, job_id)
        except FtkitError:
            points = []
        return collect_metrics(events, points)

    def cancel(self, job_id: str) -> JobInfo:
        """Cancel the job; return it."""
        return cancel_job(self.client, job_id)

    def resume(self, job_id: str) -> JobInfo:
        """Resume a paused job; return it (OpenAI refuses to resume other jobs)."""
        return resume_job(self.client, job_id)
