"""Together AI's fine-tuning API as a ``HostedTrainer``: LoRA jobs on Together's GPUs.

``upload`` checks the JSONL against Together's published rules (the exports' checker), sends
it and waits until Together has validated it. ``start`` maps a ``TrainRequest`` onto
``fine_tuning.create`` (always LoRA) and puts ftkit's run id in the job's suffix, so that a
retry after a lost response finds the job instead of creating a second one. Together's job
statuses become ftkit's; its training metrics (``list_metrics``) feed the loss chart. The
trained model is served on a dedicated endpoint at Together's OpenAI-compatible base URL.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ftkit.api import Sleep
from ftkit.dataset.jsonl import read_jsonl
from ftkit.errors import ExportCheckError, ProviderError, UploadError, WaitTimeoutError
from ftkit.exports.check import check_split
from ftkit.training.events import CheckpointInfo, EventInfo, MetricRow
from ftkit.training.jobs import JobError, JobInfo
from ftkit.training.lost_uploads import MAX_CLOCK_SKEW
from ftkit.training.together_api import calling, create_once, make_client
from ftkit.training.together_data import (
    checkpoint_info,
    event_info,
    job_info,
    metric_rows,
    price_line,
    timestamp,
)
from ftkit.training.trainer import Serving, TrainRequest

__all__ = [
    "BASE_MODELS",
    "DEFAULT_BASE_MODEL",
    "INFERENCE_URL",
    "MODELS_CHECKED",
    "TogetherTrainer",
    "refused_fields",
]

INFERENCE_URL = "https://api.together.xyz/v1"
ENDPOINTS_DOC = "https://docs.together.ai/docs/dedicated-endpoints"
DEFAULT_BASE_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
MODELS_CHECKED = "2026-12-06"  # docs.together.ai, fine-tuning "Supported models"
BASE_MODELS = (
    DEFAULT_BASE_MODEL,
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference",
    "Qwen/Qwen3-8B",
    "Qwen/Qwen2.5-72B-Instruct",
)
MAX_SUFFIX = 40
EVALS_WITH_VALIDATION = 5  # validation loss points per job when there is a validation file
FILE_WAIT = 600.0
_FILE_FAILED = ("FAILED", "INVALID_FORMAT")


def refused_fields(request: TrainRequest) -> list[str]:
    """Return one line per field of ``request`` that Together's fine-tuning does not take."""
    found = []
    if request.qlora:
        found.append("Together does not take --qlora; it trains a LoRA adapter on full weights")
    if request.max_steps is not None:
        found.append("Together does not take --max-steps; set --epochs instead")
    if request.merge:
        found.append("Together does not take --merge; it keeps the adapter on its servers")
    if request.out:
        found.append("Together does not take --out; the model stays on Together")
    return found


def job_suffix(suffix: str | None, run_id: str) -> str:
    """Return the job suffix carrying ``run_id``: ``<suffix>-ftk<run_id>``, at most 40 chars."""
    tag = "ftk" + re.sub(r"[^A-Za-z0-9]", "", run_id)[: MAX_SUFFIX - 8]
    head = re.sub(r"[^A-Za-z0-9-]", "-", suffix or "")[: MAX_SUFFIX - len(tag) - 1].strip("-")
    return f"{head}-{tag}" if head else tag


def _is_file_id(value: str) -> bool:
    return value.startswith("file-") and not Path(value).exists()


class TogetherTrainer:
    """Fine-tuning jobs on Together AI, with one API key."""

    backend = "together"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = make_client(api_key, base_url)
        self._secrets = (api_key,)
        self._sleep = sleep
        self._clock = clock

    def upload(self, path: str) -> str:
        """Check the JSONL against Together's rules, upload it, wait until validated; its id."""
        source = Path(path)
        support = check_split("together", read_jsonl(source))
        if not support["ok"]:
            raise ExportCheckError(str(source), support["trainer"], support["reasons"])
        action = f"uploading {source.name}"
        sent = create_once(
            lambda: self._client.files.upload(file=source, purpose="fine-tune", check=False),
            lambda: None,  # Together answers a re-sent file with the one it already has
            action=action,
            sleep=self._sleep,
            secrets=self._secrets,
            settle=(),
        )
        return self._wait_for_file(str(sent.id), source.name)

    def _wait_for_file(self, file_id: str, name: str, timeout: float = FILE_WAIT) -> str:
        """Wait until Together has validated the file; ``UploadError`` with its report if not."""
        deadline = self._clock() + timeout
        while True:
            with calling(f"checking {name}", self._secrets):
                file = self._client.files.retrieve(file_id)
            status = file.processing_status
            if status in _FILE_FAILED:
                report = file.validation_report
                why = (report.error if report is not None else None) or status
                raise UploadError(f"Together rejected {name} ({file_id}): {why}")
            if status in (None, "COMPLETED"):
                return file_id
            if self._clock() >= deadline:
                raise WaitTimeoutError(f"Together: {name} still {status} after {timeout:.0f}s")
            self._sleep(2.0)

    def _file(self, value: str | None) -> str | None:
        """Return the file id for ``value``: an id as it is, a local path uploaded first."""
        if not value:
            return None
        return value if _is_file_id(value) else self.upload(value)

    def create_params(
        self, request: TrainRequest, training: str, validation: str | None
    ) -> dict[str, Any]:
        """Return ``fine_tuning.create``'s arguments for ``request`` (always LoRA, SFT)."""
        refused = refused_fields(request)
        if refused:
            raise ProviderError("; ".join(refused))
        params: dict[str, Any] = {
            "training_file": training,
            "model": request.base_model or DEFAULT_BASE_MODEL,
            "n_epochs": 1 if request.epochs == "auto" else request.epochs,
            "batch_size": "max" if request.batch_size == "auto" else request.batch_size,
            "lora": True,
            "lora_r": request.lora_r,
            "lora_alpha": request.lora_alpha,
            "random_seed": request.seed,
            "train_on_inputs": "auto",  # Together's default, said so the SDK does not warn
        }
        if request.learning_rate != "auto":
            params["learning_rate"] = request.learning_rate
        if validation:
            params |= {"validation_file": validation, "n_evals": EVALS_WITH_VALIDATION}
        return params

    def start(self, request: TrainRequest, *, run_id: str | None = None) -> JobInfo:
        """Upload local files, then create the job (at most once for ``run_id``); return it."""
        refused = refused_fields(request)
        if refused:
            raise ProviderError("; ".join(refused))
        training = self._file(request.training_file) or ""
        params = self.create_params(request, training, self._file(request.validation_file))
        params["suffix"] = job_suffix(request.suffix, run_id or uuid.uuid4().hex[:12])
        since = int(time.time()) - MAX_CLOCK_SKEW
        once = self._client.with_options(max_retries=0).fine_tuning

        def find() -> Any:
            for job in self._client.fine_tuning.list().data:
                same = job.suffix == params["suffix"] and job.training_file == training
                if same and timestamp(job.created_at) >= since:
                    return job
            return None

        job = create_once(
            lambda: once.create(**params),
            find,
            action="creating the fine-tuning job",
            sleep=self._sleep,
            secrets=self._secrets,
        )
        with calling("reading the new job", self._secrets):
            return job_info(job)

    def retrieve(self, job_id: str) -> JobInfo:
        """Return the job as it is now (a failed job's reason from its error event)."""
        with calling(f"retrieving job {job_id}", self._secrets):
            job = job_info(self._client.fine_tuning.retrieve(job_id))
        if job["status"] == "failed" and job["error"] is None:
            errors = [e for e in self.events(job_id) if e["level"] == "error"]
            if errors:
                job["error"] = JobError(code="error", message=errors[0]["message"], param=None)
        return job

    def events(self, job_id: str, *, limit: int = 100) -> list[EventInfo]:
        """Return up to ``limit`` of the job's events, newest first."""
        with calling(f"listing the events of job {job_id}", self._secrets):
            data = self._client.fine_tuning.list_events(job_id).data
            found = [event_info(job_id, n, event) for n, event in enumerate(data)]
        found.reverse()  # Together lists oldest first; equal seconds keep that order, reversed
        return sorted(found, key=lambda e: e["created_at"], reverse=True)[:limit]

    def checkpoints(self, job_id: str) -> list[CheckpointInfo]:
        """Return the job's checkpoints, latest step first."""
        with calling(f"listing the checkpoints of job {job_id}", self._secrets):
            data = self._client.fine_tuning.list_checkpoints(job_id).data
            points = [checkpoint_info(job_id, point) for point in data]
        return sorted(points, key=lambda c: c["step_number"], reverse=True)

    def metrics(self, job_id: str) -> list[MetricRow]:
        """Return the job's training and validation loss per step, oldest first."""
        with calling(f"listing the metrics of job {job_id}", self._secrets):
            return metric_rows(self._client.fine_tuning.list_metrics(job_id).metrics or [])

    def cancel(self, job_id: str) -> JobInfo:
        """Ask Together to stop the job; return it."""
        with calling(f"cancelling job {job_id}", self._secrets):
            return job_info(self._client.fine_tuning.cancel(job_id))

    def resume(self, job_id: str) -> JobInfo:
        """Refuse: Together cannot resume a job."""
        raise ProviderError(
            f"Together cannot resume job {job_id}; start a new job (it costs the tokens again)"
        )

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        """Return up to ``limit`` jobs, newest first."""
        with calling("listing fine-tuning jobs", self._secrets):
            jobs = [job_info(job) for job in self._client.fine_tuning.list().data]
        return sorted(jobs, key=lambda j: j["created_at"], reverse=True)[:limit]

    def base_models(self) -> list[str]:
        """Return the base models Together fine-tunes (its docs, checked on MODELS_CHECKED)."""
        return list(BASE_MODELS)

    def estimate(self, request: TrainRequest) -> str | None:
        """Return Together's own price estimate for the run as one line.

        Together prices uploaded, validated files only; for a local path the line says so.
        """
        training, validation = request.training_file, request.validation_file
        if not _is_file_id(training) or (validation and not _is_file_id(validation)):
            return "Together prices the run once the files are uploaded and validated"
        params = self.create_params(request, training, validation)
        body: dict[str, Any] = {
            "training_file": training,
            "model": params["model"],
            "n_epochs": params["n_epochs"],
            "n_evals": params.get("n_evals", 0),
            "training_method": {"method": "sft", "train_on_inputs": "auto"},
            "training_type": {
                "type": "Lora",
                "lora_r": request.lora_r,
                "lora_alpha": request.lora_alpha,
            },
        }
        if validation:
            body["validation_file"] = validation
        with calling("estimating the price", self._secrets):
            found = self._client.fine_tuning.estimate_price(**body)
        return price_line(found)

    def serving(self, job: JobInfo) -> Serving:
        """Return how the trained model is called: a dedicated endpoint at Together's URL."""
        model = job["fine_tuned_model"]
        if job["status"] != "succeeded" or not model:
            return Serving("", None, f"job {job['id']} has no trained model yet ({job['status']})")
        note = (
            f"Together serves {model} on a dedicated endpoint: create one first ({ENDPOINTS_DOC}), "
            f"then Evaluate calls it at {INFERENCE_URL} with your TOGETHER_API_KEY; it bills "
            f"per minute until you stop it. Or download the adapter (together fine-tuning "
            f"download {job['id']} --checkpoint-type adapter -o DIR) and evaluate it here "
            "as local:DIR."
        )
        return Serving(model, INFERENCE_URL, note)
