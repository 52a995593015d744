"""Azure OpenAI fine-tuning: the training type, the live model list, uploads and deployment.

``AzureTrainer`` is ``OpenAITrainer`` on an ``AzureOpenAI`` client plus what Azure adds: the
training type goes in the body as ``trainingType`` (globalStandard, Azure's recommended tier and
ftkit's default; standard keeps data in the resource's region; developerTier uses idle capacity);
open-weight models train only with globalStandard. The trainable models come from
``GET /openai/models`` (``capabilities.fine_tune``, with the retirement dates Azure announces),
falling back to ftkit's table. Files over 100 MB go through the Uploads API. A trained model
must be deployed (a control-plane call with Azure credentials, not the API key) before Evaluate
can call it: ``serving`` gives the exact ``az`` command.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai

from ftkit.api import Sleep, calling
from ftkit.dataset.jsonl import read_jsonl
from ftkit.errors import FtkitError, ProviderError, UploadError
from ftkit.exports.check import check_split
from ftkit.exports.rules import RULES
from ftkit.sources.sniff import require_regular_file
from ftkit.training.files import upload_file
from ftkit.training.jobs import (
    DEFAULT_SUFFIX,
    JobInfo,
    JobSpec,
    Wandb,
    create_job,
    list_jobs,
)
from ftkit.training.models import DEFAULT_MODEL
from ftkit.training.openai_trainer import OpenAITrainer, refused_fields
from ftkit.training.shutdown import table_models
from ftkit.training.trainer import Serving, TrainRequest

__all__ = [
    "DEFAULT_TRAINING_TYPE",
    "PRICING_URL",
    "TRAINING_TYPES",
    "TRAINING_TYPE_KEY",
    "AzureModel",
    "AzureTrainer",
    "ModelListing",
    "deploy_command",
    "deployment_name",
    "ftkit_status",
    "is_open_weight",
    "list_trainable",
    "training_type",
]

TRAINING_TYPES = ("globalStandard", "standard", "developerTier")
DEFAULT_TRAINING_TYPE = "globalStandard"
TRAINING_TYPE_KEY = "ftkit_training_type"  # kept in the job's metadata, for the deployment
_SKU = {
    "globalStandard": "GlobalStandard",
    "standard": "Standard",
    "developerTier": "DeveloperTier",
}
_ALIASES = {"global": "globalStandard", "developer": "developerTier"}
# Azure's own OpenAI models; anything else Azure fine-tunes (gpt-oss, Llama, Qwen, Ministral,
# ...) is open-weight.
_OPENAI_PREFIXES = ("gpt-35", "gpt-3.5", "gpt-4", "gpt-5", "o1", "o3", "o4", "babbage", "davinci")
# Azure's job states in ftkit's words (others, and OpenAI's own, pass through unchanged).
_STATUS = {
    "created": "validating_files",
    "pending": "queued",
    "notrunning": "queued",
    "pausing": "running",
    "resuming": "running",
    "canceled": "cancelled",
}
PRICING_URL = "https://azure.microsoft.com/pricing/details/cognitive-services/openai-service/"


def training_type(value: str | None) -> str:
    """Return Azure's spelling of a training type (default globalStandard); one line if unknown."""
    if value is None or not value.strip():
        return DEFAULT_TRAINING_TYPE
    key = re.sub(r"[\s_-]", "", value).lower()
    for name in TRAINING_TYPES:
        if key == name.lower():
            return name
    if key in _ALIASES:
        return _ALIASES[key]
    raise ProviderError(
        f"--training-type {value!r}: Azure OpenAI takes {', '.join(TRAINING_TYPES)}"
    )


def is_open_weight(model: str) -> bool:
    """Return True for a model that is not one of OpenAI's own (gpt-oss counts as open)."""
    name = model.strip().lower()
    if name.startswith("gpt-oss"):
        return True
    return not name.startswith(_OPENAI_PREFIXES)


@dataclass(frozen=True)
class AzureModel:
    """A model the resource can fine-tune, and when Azure retires it (ISO dates, or None)."""

    name: str
    lifecycle: str | None
    training_retires: str | None
    inference_retires: str | None


@dataclass(frozen=True)
class ModelListing:
    """The models to offer and, when they come from ftkit's table, the caption saying so."""

    models: list[AzureModel]
    caption: str | None


def _date(value: object) -> str | None:
    """Return an ISO date from Azure's deprecation value (Unix seconds or a date string)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).date().isoformat()
    if isinstance(value, str) and value.strip():
        return value.strip()[:10]
    return None


def _azure_model(item: Mapping[str, Any]) -> AzureModel | None:
    """Return the model if its capabilities say it can be fine-tuned, else None."""
    caps = item.get("capabilities")
    if not isinstance(caps, Mapping) or caps.get("fine_tune") is not True:
        return None
    name = item.get("id")
    if not isinstance(name, str) or not name:
        raise ValueError("a model without an id")
    retire = item.get("deprecation")
    retire = retire if isinstance(retire, Mapping) else {}
    lifecycle = item.get("lifecycle_status")
    return AzureModel(
        name=name,
        lifecycle=lifecycle if isinstance(lifecycle, str) else None,
        training_retires=_date(retire.get("fine_tune")),
        inference_retires=_date(retire.get("inference")),
    )


def list_trainable(client: openai.OpenAI) -> list[AzureModel]:
    """Return the resource's fine-tunable models from ``GET /openai/models``, sorted by name."""
    found: dict[str, AzureModel] = {}
    with calling("Azure OpenAI: listing models"):
        for model in client.models.list():
            row = _azure_model(model.model_dump())
            if row is not None:
                found[row.name] = row
    return [found[name] for name in sorted(found)]


def _table_listing(reason: str) -> ModelListing:
    """Return ftkit's table of OpenAI models, with a caption saying why and what it may miss."""
    rows = [
        AzureModel(row["name"], None, None, row["shutdown_date"])
        for row in table_models()
        if not row["fine_tuned"]
    ]
    caption = (
        f"Azure's model list could not be read ({reason}); showing ftkit's table of OpenAI "
        "models instead: your resource's region may train fewer, and Azure's retirement "
        "dates are not shown"
    )
    return ModelListing(rows, caption)


def ftkit_status(job: JobInfo) -> JobInfo:
    """Return the job with Azure's state (``pending``, ``created``, ...) in ftkit's words."""
    job["status"] = _STATUS.get(job["status"].lower(), job["status"])
    return job


def _resource_name(endpoint: str) -> str:
    """Return the resource name from ``https://NAME.openai.azure.com`` (a placeholder if none)."""
    host = urlsplit(endpoint).hostname or ""
    if host.endswith(".azure.com"):
        return host.split(".", 1)[0]
    return "<your-resource-name>"


def deployment_name(job: JobInfo) -> str:
    """Return the deployment name ftkit suggests: the suffix and the job id, Azure-safe."""
    suffix = job["metadata"].get("ftkit_suffix") or DEFAULT_SUFFIX
    tail = re.sub(r"[^A-Za-z0-9]", "", job["id"])[-8:]
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{suffix}-{tail}")[:64]


def deploy_command(
    *, resource_group: str, resource: str, deployment: str, model: str, kind: str
) -> str:
    """Return the exact ``az`` command that deploys a fine-tuned model (one line).

    Every value is shell-quoted: the model name comes from the endpoint's reply.
    """
    group, name, dep, mod = (shlex.quote(v) for v in (resource_group, resource, deployment, model))
    return (
        f"az cognitiveservices account deployment create --resource-group {group} "
        f"--name {name} --deployment-name {dep} --model-name {mod} "
        f'--model-version "1" --model-format OpenAI --sku-name {_SKU[kind]} --sku-capacity 1'
    )


class AzureTrainer(OpenAITrainer):
    """Fine-tuning jobs on an Azure OpenAI resource (an ``openai.AzureOpenAI`` client)."""

    def __init__(
        self,
        client: openai.OpenAI,
        endpoint: str,
        *,
        resource_group: str | None = None,
        wandb: Wandb | None = None,
        metadata: Mapping[str, str] | None = None,
        uploads_threshold: int | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(client, endpoint, backend="azure", wandb=wandb, metadata=metadata)
        self.resource_group = resource_group or "<your-resource-group>"
        self.uploads_threshold = uploads_threshold
        self.sleep = sleep  # the waits between retries of a create or an upload

    def start(self, request: TrainRequest, *, run_id: str | None = None) -> JobInfo:
        """Create the job (at most once for ``run_id``, retrying 429/5xx) and return it."""
        spec = self.spec(request)
        return ftkit_status(create_job(self.client, spec, run_id=run_id, sleep=self.sleep))

    def retrieve(self, job_id: str) -> JobInfo:
        """Return the job as it is now, its state in ftkit's words."""
        return ftkit_status(super().retrieve(job_id))

    def cancel(self, job_id: str) -> JobInfo:
        """Cancel the job; return it."""
        return ftkit_status(super().cancel(job_id))

    def resume(self, job_id: str) -> JobInfo:
        """Resume a paused job; return it."""
        return ftkit_status(super().resume(job_id))

    def spec(self, request: TrainRequest) -> JobSpec:
        """Return the job with ``trainingType`` in its body; ``ProviderError`` if refused."""
        refused = refused_fields(dataclasses.replace(request, training_type=None))
        kind = training_type(request.training_type)
        model = request.base_model or DEFAULT_MODEL
        if is_open_weight(model) and kind != "globalStandard":
            refused.append(
                f"{model} is an open-weight model: Azure OpenAI trains it only with "
                f"--training-type globalStandard, not {kind}"
            )
        if refused:
            raise ProviderError("; ".join(refused))
        spec = super().spec(dataclasses.replace(request, training_type=None))
        metadata = {**spec.metadata, TRAINING_TYPE_KEY: kind}
        if request.suffix:
            metadata["ftkit_suffix"] = request.suffix[:64]
        return dataclasses.replace(spec, metadata=metadata, extra_body={"trainingType": kind})

    def upload(self, path: str) -> str:
        """Check the JSONL against Azure's rules, upload it (Uploads API over 100 MB); its id."""
        limit = RULES["azure-openai"].max_file_bytes
        source = require_regular_file(path, error=UploadError)
        size = source.stat().st_size
        if limit is not None and size > limit:  # refused before reading it all into memory
            raise UploadError(
                f"{path}: not uploaded, {size / 2**20:,.0f} MB is over Azure OpenAI's "
                f"{limit // 2**20} MB limit for a training file"
            )
        support = check_split("azure-openai", read_jsonl(source))
        if not support["ok"]:
            raise UploadError(
                f"{path}: not uploaded, Azure OpenAI would refuse it: "
                + "; ".join(support["reasons"])
            )
        result = upload_file(
            self.client,
            path,
            endpoint=self.endpoint,
            uploads_threshold=self.uploads_threshold,
            sleep=self.sleep,
        )
        return result.file["id"]

    def models(self) -> ModelListing:
        """Return the live list of trainable models, or ftkit's table with a caption."""
        try:
            return ModelListing(list_trainable(self.client), None)
        except FtkitError as err:
            return _table_listing(str(err))

    def base_models(self) -> list[str]:
        """Return the names of the models this resource can fine-tune (live where it can)."""
        return [model.name for model in self.models().models]

    def estimate(self, request: TrainRequest) -> str | None:
        """Return a cost estimate at the price table's rate, or None when it cannot price it."""
        from ftkit.preflight.scan import check_file

        if not Path(request.training_file).is_file():
            return None
        epochs = request.epochs if isinstance(request.epochs, int) else None
        try:
            report = check_file(
                request.training_file, model=request.base_model or DEFAULT_MODEL, epochs=epochs
            )
        except FtkitError:
            return None
        if report.estimated_cost_usd is None:
            return None
        return (
            f"about ${report.estimated_cost_usd:,.2f} for {report.billed_tokens:,} training "
            f"tokens at OpenAI's list price (as of {report.prices_as_of}); Azure's price "
            f"depends on the region and the training type ({training_type(request.training_type)}"
            f"): {PRICING_URL}"
        )

    def serving(self, job: JobInfo) -> Serving:
        """Return the deployment to create and call, with the exact command to create it."""
        model = job["fine_tuned_model"] or "<fine-tuned-model>"
        kind = training_type(job["metadata"].get(TRAINING_TYPE_KEY))
        deployment = deployment_name(job)
        command = deploy_command(
            resource_group=self.resource_group,
            resource=_resource_name(self.endpoint),
            deployment=deployment,
            model=model,
            kind=kind,
        )
        note = (
            f"Deploy the model before Evaluate can call it. This is a control-plane call: it "
            f"needs Azure credentials (`az login` with the right to create deployments), not the "
            f"API key. Run: {command} . Evaluate then calls deployment {deployment} at "
            f"{self.endpoint}. A deployed model is billed by the hour; one idle for 15 days is "
            "deleted (the model stays)."
        )
        if kind == "developerTier":
            note += (
                " A Developer-tier deployment is deleted after 24 hours; deploy again to test "
                "later."
            )
        return Serving(model=deployment, base_url=self.endpoint, note=note)

    def list_jobs(self, limit: int = 20) -> list[JobInfo]:
        """Return up to ``limit`` jobs, newest first."""
        return [ftkit_status(job) for job in list_jobs(self.client, limit=limit)]
