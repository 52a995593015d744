"""One trainer interface: every place that can train a model, seen the same way.

A backend takes the train and validation JSONL that ftkit writes (a ``TrainRequest``) and
returns plain data: the job (``JobInfo``), its events (``EventInfo``, metric events carrying
``step``, ``train_loss``, ``valid_loss`` in ``data``), its checkpoints and its metrics per step.
The monitor, the CLI and the Train page use only this interface, so a job on OpenAI and a LoRA
run on this computer are watched, recorded and scored alike. When a job succeeds,
``job["fine_tuned_model"]`` is the name the Tester takes (``ft:...`` for OpenAI, ``local:DIR``
for a local run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ftkit.training.events import CheckpointInfo, EventInfo, MetricRow
from ftkit.training.jobs import DEFAULT_SEED, DEFAULT_SUFFIX, JobInfo

__all__ = ["Auto", "HostedTrainer", "Serving", "TrainRequest", "Trainer", "summary"]

Auto = Literal["auto"]


@dataclass(frozen=True)
class TrainRequest:
    """What to train, in words every backend understands; "auto" lets the backend choose.

    ``training_file`` and ``validation_file`` are ftkit's chat JSONL: a local path (a hosted
    backend uploads it) or, for OpenAI, an uploaded file id. ``learning_rate`` is the rate
    itself for a LoRA run and the multiplier for OpenAI. The LoRA fields, ``qlora``, ``out``
    (the folder a local run writes) and ``merge`` (also save the adapter merged into the base
    model) matter to the backends that train adapters. ``training_type`` is Azure OpenAI's
    ``trainingType`` (globalStandard, standard or developerTier); other backends refuse it.
    """

    training_file: str
    validation_file: str | None = None
    base_model: str = ""
    epochs: int | Auto = 1
    max_steps: int | None = None
    batch_size: int | Auto = "auto"
    learning_rate: float | Auto = "auto"
    lora_r: int = 16
    lora_alpha: int = 32
    qlora: bool = False
    seed: int | None = DEFAULT_SEED
    suffix: str | None = DEFAULT_SUFFIX
    out: str | None = None
    merge: bool = False
    training_type: str | None = None


class Trainer(Protocol):
    """A place to train. Each method raises ``FtkitError`` with one line when it cannot."""

    backend: str  # "openai", "local", ...

    def start(self, request: TrainRequest, *, run_id: str | None = None) -> JobInfo:
        """Create the job (at most once for a given ``run_id``) and return it."""
        ...

    def retrieve(self, job_id: str) -> JobInfo:
        """Return the job as it is now."""
        ...

    def events(self, job_id: str, *, limit: int = 100) -> list[EventInfo]:
        """Return up to ``limit`` of the job's events, newest first."""
        ...

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]:
        """Return the job's checkpoints, latest step first."""
        ...

    def metrics(self, job_id: str) -> list[MetricRow]:
        """Return the job's metrics, one row per step, oldest first."""
        ...

    def cancel(self, job_id: str) -> JobInfo:
        """Stop the job; return it."""
        ...

    def resume(self, job_id: str) -> JobInfo:
        """Continue a paused, cancelled or failed job (from its last checkpoint); return it."""
        ...


@dataclass(frozen=True)
class Serving:
    """How a trained model is called: the name Evaluate sends, where, and what to know first.

    ``base_url`` is the provider's OpenAI-compatible inference endpoint (None: call it where
    ``note`` says); ``note`` says how it is served (serverless, or the deployment it needs,
    with the link or the exact command).
    """

    model: str
    base_url: str | None
    note: str


class HostedTrainer(Trainer, Protocol):
    """A provider that trains by API: it also takes uploads, lists models and prices a run."""

    def upload(self, path: str) -> str:
        """Check the JSONL against the provider's rules, upload it and return its file id."""
        ...

    def base_models(self) -> list[str]:
        """Return the models this account can fine-tune (live where the API lists them)."""
        ...

    def estimate(self, request: TrainRequest) -> str | None:
        """Return the provider's price estimate for the run as one line, or None."""
        ...

    def serving(self, job: JobInfo) -> Serving:
        """Return how the job's trained model is called."""
        ...

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        """Return up to ``limit`` jobs, newest first."""
        ...


def summary(
    backend: str, job: JobInfo, metrics: Sequence[MetricRow], *, out: str | None = None
) -> dict[str, Any]:
    """Return the one object ``finetune --json`` prints for a job of any backend.

    ``model`` is the name the Tester takes once the job succeeded (else None); ``metrics``
    gives the last step and the first and last training loss; ``out`` is a local run's folder.
    """
    losses = [row["train_loss"] for row in metrics if "train_loss" in row]
    succeeded = job["status"] == "succeeded"
    return {
        "backend": backend,
        "status": job["status"],
        "model": job["fine_tuned_model"] if succeeded else None,
        "job_id": job["id"],
        "base_model": job["model"],
        "metrics": {
            "steps": max((row["step"] for row in metrics), default=0),
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
        },
        "out": out,
    }
