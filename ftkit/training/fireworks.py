"""Fireworks AI as a ``HostedTrainer``: datasets in, a supervised fine-tuning job, a LoRA out.

``start`` uploads the request's JSONL files as datasets (checked against Fireworks' rules
first), then creates a ``supervisedFineTuningJob`` whose id ftkit chooses from its run id, so a
retried create meets 409 and fetches the job instead of making a second one. The request maps
to ``baseModel``, ``epochs``, ``learningRate``, ``loraRank`` and ``batchSizeSamples``
(examples per batch; Fireworks' ``batchSize`` counts tokens); ``max_steps``, ``lora_alpha``,
``qlora``, ``out`` and ``merge`` are refused, one line each, and the seed is not sent (Fireworks
takes none). The job resource carries a state and a progress percentage but no losses, so
``events`` are made from its state and progress and ``metrics`` is empty (the loss curve is on
the Fireworks dashboard, or W&B). A finished job's ``outputModel`` is the name Evaluate sends
to ``https://api.fireworks.ai/inference/v1`` once the model is deployed (see ``serving``).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2

from ftkit.api import Sleep, calling, optional, require, shown_text
from ftkit.dataset.jsonl import read_jsonl
from ftkit.errors import ProviderError
from ftkit.exports.rules import CHARS_PER_TOKEN
from ftkit.training.events import CheckpointInfo, EventInfo, MetricRow
from ftkit.training.fireworks_api import INFERENCE_URL, FireworksApi
from ftkit.training.fireworks_data import UPLOAD_LIMIT, upload_dataset
from ftkit.training.fireworks_info import job_events, serving_note, tunable_models
from ftkit.training.jobs import RUN_ID_KEY, JobError, JobInfo
from ftkit.training.trainer import Serving, TrainRequest

__all__ = [
    "CHECKED",
    "DEFAULT_BASE_MODEL",
    "KEY_NAMES",
    "FireworksTrainer",
    "job_id_for",
    "refused_fields",
    "run_id_of",
    "status_of",
]

CHECKED = "2026-12-06"  # the date the prices, models and serving rules below were checked
KEY_NAMES = ("FIREWORKS_API_KEY", "FIREWORKS_ACCOUNT_ID")
DEFAULT_BASE_MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"
KNOWN_BASE_MODELS = (  # used when the live list is empty (fireworks.ai model library, CHECKED)
    "accounts/fireworks/models/llama-v3p1-8b-instruct",
    "accounts/fireworks/models/llama-v3p1-70b-instruct",
    "accounts/fireworks/models/qwen2p5-7b-instruct",
    "accounts/fireworks/models/qwen3-8b",
)
PRICES = ((16.0, 0.50), (80.0, 3.00))  # (up to billions of parameters, $ per 1M training tokens)
_STATUSES = {
    "validating_files": ("CREATING", "VALIDATING", "CREATING_INPUT_DATASET"),
    "queued": ("PENDING", "RE_QUEUEING", "IDLE", "UNSPECIFIED"),
    "running": ("RUNNING", "WRITING_RESULTS", "CANCELLING"),
    "paused": ("PAUSED",),
    "succeeded": ("COMPLETED", "EARLY_STOPPED"),
    "failed": ("FAILED", "EXPIRED"),
    "cancelled": ("CANCELLED", "DELETING", "DELETING_CLEANING_UP"),
}
STATUS_OF = {f"JOB_STATE_{state}": ours for ours, states in _STATUSES.items() for state in states}
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_RUN = re.compile(r"ftkit-([a-z0-9-]+)-[0-9a-f]{8}")
_DEFAULTS = TrainRequest(training_file="")


def status_of(state: str) -> str:
    """Return ftkit's status for a Fireworks job state (an unknown state counts as running)."""
    return STATUS_OF.get(state, "running")


def job_id_for(run_id: str | None, body: Mapping[str, Any]) -> str:
    """Return the Fireworks job id for ftkit's run id and the create body.

    The same run and request always give the same id (so a retried create meets 409); the
    digest of the body keeps a run id reused elsewhere (another history database) from
    claiming someone else's job. Without a run id the id is fresh.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", (run_id or uuid.uuid4().hex).lower()).strip("-")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    return f"ftkit-{slug[:48].strip('-') or 'run'}-{digest}"


def run_id_of(job_id: str) -> str | None:
    """Return the run id (as slug) a job id made by ``job_id_for`` carries, else None."""
    found = _RUN.fullmatch(job_id)
    return found.group(1) if found else None


def refused_fields(request: TrainRequest) -> list[str]:
    """Return one line per field of ``request`` that Fireworks' fine-tuning does not take."""
    found = []
    if request.max_steps is not None:
        found.append("Fireworks does not take --max-steps; set --epochs instead")
    if request.lora_alpha != _DEFAULTS.lora_alpha:
        found.append("Fireworks does not take --lora-alpha; it sets alpha from --lora-r")
    if request.qlora:
        found.append("Fireworks does not take --qlora; it chooses the precision itself")
    if request.out:
        found.append("Fireworks does not take --out; the model stays on Fireworks")
    if request.merge:
        found.append("Fireworks does not take --merge; it serves the LoRA on a deployment")
    return found


def _model_name(model: str) -> str:
    """Return a base model's full name (``llama-v3p1-8b-instruct`` → ``accounts/fireworks/...``)."""
    model = model.strip() or DEFAULT_BASE_MODEL
    return model if model.startswith("accounts/") else f"accounts/fireworks/models/{model}"


def _seconds(value: object, field: str) -> int | None:
    """Return an RFC 3339 time from the reply as Unix seconds (None when absent)."""
    text = optional(value, str, field)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()) if text else None


def _hyper(job: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("epochs", "learningRate", "loraRank", "batchSize", "batchSizeSamples")
    return {key: job[key] for key in keys if job.get(key) is not None}


def _error(job: Mapping[str, Any], status: str) -> JobError | None:
    found = job.get("status")
    if status != "failed" or not isinstance(found, Mapping):
        return None
    message = shown_text(str(found.get("message") or "the job failed"))
    return JobError(code=str(found.get("code") or ""), message=message, param=None)


class FireworksTrainer:
    """Supervised fine-tuning (LoRA) jobs on Fireworks AI, for one account."""

    backend = "fireworks"

    def __init__(
        self,
        api_key: str,
        account_id: str,
        *,
        base_url: str | None = None,
        http: httpx2.Client | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        if not _ID.fullmatch(account_id):
            raise ProviderError(f"Fireworks account id {account_id[:70]!r}: not an account id")
        self.api = FireworksApi(api_key, account_id, base_url=base_url, http=http, sleep=sleep)
        self.account_id = account_id
        self.upload_limit = UPLOAD_LIMIT

    def _job_url(self, job_id: str, verb: str = "") -> str:
        short = job_id.removeprefix(f"accounts/{self.account_id}/supervisedFineTuningJobs/")
        if not _ID.fullmatch(short):
            raise ProviderError(f"{job_id[:80]!r}: not a Fireworks fine-tuning job id")
        return self.api.url(f"supervisedFineTuningJobs/{short}{verb}")

    def _dataset(self, file: str) -> str:
        """Return the dataset's full name: ``file`` uploaded if it is a local file."""
        short = self.upload(file) if Path(file).is_file() else file.rsplit("/", 1)[-1]
        if not _ID.fullmatch(short):
            raise ProviderError(f"{file[:80]!r}: neither a file nor a Fireworks dataset id")
        return f"accounts/{self.account_id}/datasets/{short}"

    def job_info(self, job: Mapping[str, Any]) -> JobInfo:
        """Return the plain-data view of a Fireworks job; ``ValueError`` for an unreadable one."""
        name = require(job.get("name"), str, "name")
        status = status_of(require(job.get("state"), str, "state"))
        output = optional(job.get("outputModel"), str, "outputModel")
        if output and not output.startswith("accounts/"):
            output = f"accounts/{self.account_id}/models/{output}"
        short = name.rsplit("/", 1)[-1]
        return JobInfo(
            id=short,
            status=status,
            model=optional(job.get("baseModel"), str, "baseModel") or "",
            fine_tuned_model=output if status == "succeeded" else None,
            created_at=_seconds(job.get("createTime"), "createTime") or 0,
            finished_at=_seconds(job.get("completedTime"), "completedTime"),
            estimated_finish=None,
            trained_tokens=None,
            training_file=require(job.get("dataset"), str, "dataset"),
            validation_file=optional(job.get("evaluationDataset"), str, "evaluationDataset"),
            seed=None,
            hyperparameters=_hyper(job),
            metadata={RUN_ID_KEY: run} if (run := run_id_of(short)) else {},
            error=_error(job, status),
        )

    def _job(self, reply: Any, action: str) -> JobInfo:
        with calling(f"Fireworks {action}"):
            return self.job_info(reply)

    def upload(self, path: str) -> str:
        """Check the JSONL against Fireworks' rules, upload it as a dataset, return its id."""
        return upload_dataset(self.api, path, limit=self.upload_limit)

    def body(self, request: TrainRequest) -> dict[str, Any]:
        """Return the create body; ``ProviderError`` for a field Fireworks refuses."""
        refused = refused_fields(request)
        if refused:
            raise ProviderError("; ".join(refused))
        body: dict[str, Any] = {
            "dataset": self._dataset(request.training_file),
            "baseModel": _model_name(request.base_model),
            "loraRank": request.lora_r,
        }
        if request.validation_file:
            body["evaluationDataset"] = self._dataset(request.validation_file)
        if request.epochs != "auto":
            body["epochs"] = request.epochs
        if request.learning_rate != "auto":
            body["learningRate"] = request.learning_rate
        if request.batch_size != "auto":
            body["batchSizeSamples"] = request.batch_size
        if request.suffix:
            body["displayName"] = request.suffix[:60]
        return body

    def start(self, request: TrainRequest, *, run_id: str | None = None) -> JobInfo:
        """Create the job (at most once for ``run_id``: its id is derived from it) and return it."""
        body = self.body(request)
        job_id = job_id_for(run_id, body)
        url = self.api.url("supervisedFineTuningJobs")
        params = {"supervisedFineTuningJobId": job_id}
        made = self.api.call(
            "POST", url, action="create job", json=body, params=params, exists_ok=True
        )
        return self._job(made, "create job") if made is not None else self.retrieve(job_id)

    def retrieve(self, job_id: str) -> JobInfo:
        """Return the job as it is now."""
        return self._job(self.api.call("GET", self._job_url(job_id), action="get job"), "get job")

    def events(self, job_id: str, *, limit: int = 100) -> list[EventInfo]:
        """Return the job's state and progress as events, newest first."""
        raw = self.api.call("GET", self._job_url(job_id), action="get job")
        with calling("Fireworks get job"):
            return job_events(self.job_info(raw), raw)[:limit]

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]:
        """Return no checkpoints: Fireworks keeps only the final model of a job."""
        self._job_url(job_id)
        return []

    def metrics(self, job_id: str) -> list[MetricRow]:
        """Return no rows: the job resource carries no losses (see the module's docstring)."""
        self._job_url(job_id)
        return []

    def cancel(self, job_id: str) -> JobInfo:
        """Cancel the job; return it."""
        self.api.call("POST", self._job_url(job_id, ":cancel"), action="cancel job", json={})
        return self.retrieve(job_id)

    def resume(self, job_id: str) -> JobInfo:
        """Resume a paused or failed job from its last checkpoint; return it."""
        self.api.call("POST", self._job_url(job_id, ":resume"), action="resume job", json={})
        return self.retrieve(job_id)

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        """Return up to ``limit`` jobs, newest first."""
        params = {"pageSize": max(1, min(limit, 200)), "orderBy": "createTime desc"}
        url = self.api.url("supervisedFineTuningJobs")
        reply = self.api.call("GET", url, action="list jobs", params=params)
        with calling("Fireworks list jobs"):
            jobs = require(reply.get("supervisedFineTuningJobs", []), list, "jobs")
            return [self.job_info(job) for job in jobs[:limit]]

    def base_models(self) -> list[str]:
        """Return the models Fireworks lists as tunable (its dated table if it lists none)."""
        return tunable_models(self.api) or list(KNOWN_BASE_MODELS)

    def estimate(self, request: TrainRequest) -> str | None:
        """Return the training price as one line (tokens × epochs × the per-token price)."""
        size = _billions(_model_name(request.base_model))
        price = next((rate for limit, rate in PRICES if size is not None and size <= limit), None)
        if price is None or not Path(request.training_file).is_file():
            return None
        tokens = -(-_characters(read_jsonl(request.training_file)) // CHARS_PER_TOKEN)
        epochs = request.epochs if isinstance(request.epochs, int) else 1
        cost = tokens * epochs * price / 1_000_000
        return (
            f"about ${cost:,.2f}: ~{tokens:,} tokens x {epochs} epoch(s) at ${price:.2f} per 1M "
            f"training tokens for a {size:g}B base (Fireworks pricing, checked {CHECKED})"
        )

    def serving(self, job: JobInfo) -> Serving:
        """Return how the trained LoRA is called: on a deployment, as Fireworks requires."""
        model = job["fine_tuned_model"] or ""
        return Serving(model=model, base_url=INFERENCE_URL, note=serving_note(model))


def _characters(rows: list[Any]) -> int:
    """Return the characters of every message's content in the parsed JSONL rows."""
    total = 0
    for row in rows:
        messages = row.get("messages") if isinstance(row, dict) else None
        for message in messages if isinstance(messages, list) else []:
            if isinstance(message, dict):
                total += len(str(message.get("content") or ""))
    return total


def _billions(model: str) -> float | None:
    """Return the parameter count in billions read from a model name (``...-8b-...`` → 8)."""
    found = re.search(r"(?<![a-z0-9])(\d+(?:p\d+)?)b(?![a-z])", model.rsplit("/", 1)[-1])
    return float(found.group(1).replace("p", ".")) if found else None
