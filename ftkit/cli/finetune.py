"""``python -m ftkit finetune``: create a fine-tuning job (and optionally watch it finish).

``--backend openai|azure|compatible|together|fireworks|local`` picks where to train; without it
the provider comes from the flags and environment, as before. ``--backend local`` trains a LoRA
adapter on this computer (``ftkit.cli.finetune_local``); ``together`` and ``fireworks`` train at
those providers with their own key (``TOGETHER_API_KEY``; ``FIREWORKS_API_KEY`` and the account
id), taking the shared flags (``--model``/``--base-model``, ``--epochs``, ``--batch-size``,
``--learning-rate``, ``--lora-r``, ``--lora-alpha``, ``--suffix``, ``--seed``). Each backend's own
flags are refused, one line each, with the other backends. With ``--backend`` and ``--json``
every backend prints the same summary object (backend, status, model, job_id, base_model,
metrics, out), plus ``serving`` {model, base_url, note} once a hosted provider's job succeeded.

``--training-file`` and ``--validation-file`` take uploaded file ids; an existing local path is
uploaded first (reusing an earlier upload of the same content). Defaults are the lecture's:
gpt-4o-mini-2024-07-18, ``DEFAULT_EPOCHS`` (one) epoch, the same number ``validate`` and the
dashboard's Check page price, seed 42, suffix "pricer".

The run is recorded in the history (status "running") before the job is created, and the job
carries that run's id in its metadata as ``ftkit_run_id``; ``--wait`` records how it ended.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

import openai
import orjson

from ftkit.cli import quiet_recorder
from ftkit.cli._provider import (
    add_hosted_flags,
    add_provider_flags,
    client_from_args,
    hosted_keys_from_args,
)
from ftkit.cli.arguments import auto_or, positive_int
from ftkit.errors import ProviderError
from ftkit.history.recorder import Recorder
from ftkit.history.recording import current_user
from ftkit.preflight.cost import DEFAULT_EPOCHS, MAX_EPOCHS
from ftkit.providers import HOSTED_BACKENDS, ProviderSettings
from ftkit.training.azure import DEFAULT_TRAINING_TYPE, TRAINING_TYPES, AzureTrainer
from ftkit.training.backends import BACKENDS, open_hosted
from ftkit.training.events import EventInfo, MetricRow
from ftkit.training.jobs import DEFAULT_SEED, DEFAULT_SUFFIX, JobInfo, Wandb
from ftkit.training.launch import record_finished, start_job, upload_recorded
from ftkit.training.models import DEFAULT_MODEL
from ftkit.training.monitor import follow_job, job_metrics
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.trainer import HostedTrainer, Serving, TrainRequest, summary

__all__ = ["ALL_BACKENDS", "format_job", "register", "run"]

ALL_BACKENDS = tuple(dict.fromkeys((*BACKENDS, *HOSTED_BACKENDS)))


def _metadata(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    return key, val


def format_job(job: JobInfo) -> str:
    """Return the job's id, status and (when done) the fine-tuned model, one line each."""
    lines = [f"job:    {job['id']}", f"status: {job['status']}", f"model:  {job['model']}"]
    if job["fine_tuned_model"]:
        lines.append(f"fine-tuned model: {job['fine_tuned_model']}")
    if job["trained_tokens"]:
        lines.append(f"trained tokens: {job['trained_tokens']:,}")
    if job["error"]:
        param = f" [parameter: {job['error']['param']}]" if job["error"]["param"] else ""
        lines.append(f"error: {job['error']['message']}{param}")
    return "\n".join(lines)


# Flags only one kind of backend takes: (argparse dest, flag, what to use instead).
LOCAL_ONLY = (
    ("base_model", "--base-model", "; use --model"),
    ("max_steps", "--max-steps", "; set --epochs"),
    ("learning_rate", "--learning-rate", "; use --learning-rate-multiplier"),
    ("lora_r", "--lora-r", ""),
    ("lora_alpha", "--lora-alpha", ""),
    ("qlora", "--qlora", ""),
    ("out", "--out", ""),
    ("resume", "--resume", "; resume a paused OpenAI job with `jobs resume ID`"),
    ("merge", "--merge", ""),
)
OPENAI_ONLY = (
    ("model", "--model", "; use --base-model"),
    ("learning_rate_multiplier", "--learning-rate-multiplier", "; use --learning-rate"),
    ("wandb_project", "--wandb-project", ""),
    ("wandb_entity", "--wandb-entity", ""),
    ("wandb_tag", "--wandb-tag", ""),
    ("metadata", "--metadata", ""),
    ("run_id", "--run-id", ""),
    ("training_type", "--training-type", ""),
    ("base_url", "--base-url", ""),
    ("azure_endpoint", "--azure-endpoint", ""),
    ("api_version", "--api-version", ""),
)
# The shared flags a provider with its own key takes; the rest of both lists are refused.
HOSTED_TAKES = frozenset({"model", "base_model", "learning_rate", "lora_r", "lora_alpha", "run_id"})
FIREWORKS_ONLY = (("fireworks_account_id", "--fireworks-account-id", ""),)
LORA_R, LORA_ALPHA = (
    TrainRequest(training_file="").lora_r,
    TrainRequest(training_file="").lora_alpha,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``finetune`` subcommand."""
    parser = subparsers.add_parser(
        "finetune",
        help="create a fine-tuning job (the lecture's defaults) and optionally wait for it",
        description="Create a supervised fine-tuning job. Creation is idempotent: a run id in the "
        "job's metadata lets a retry find the job instead of creating a second one.",
    )
    add = parser.add_argument
    add(
        "--backend",
        choices=ALL_BACKENDS,
        help="where to train (default: the provider the flags and environment choose)",
    )
    add("--training-file", metavar="ID|FILE", help="uploaded file id or a path (required)")
    add("--validation-file", metavar="ID|FILE", help="uploaded file id or a path")
    add(
        "--epochs",
        type=auto_or(int, 1, MAX_EPOCHS),
        default=DEFAULT_EPOCHS,
        metavar="N|auto",
        help=f"default: {DEFAULT_EPOCHS}, the number validate prices",
    )
    add("--batch-size", type=auto_or(int, 1, 256), default="auto", metavar="N|auto")
    add("--seed", type=int, default=DEFAULT_SEED, help=f"default: {DEFAULT_SEED}")
    add(
        "--suffix",
        default=DEFAULT_SUFFIX,
        help=f"at most 64 characters (default: {DEFAULT_SUFFIX})",
    )
    add("--wait", "--watch", action="store_true", help="watch the job until it finishes")
    add("--interval", type=float, default=15.0, metavar="S", help="seconds between polls (--wait)")
    add("--json", action="store_true", help="print the job as JSON")
    add("--no-history", action="store_true", help="do not record this run (or its uploads)")
    _add_openai_flags(parser)
    _add_local_flags(parser)
    add_provider_flags(parser)
    add_hosted_flags(parser)
    parser.set_defaults(handler=run)


def _add_openai_flags(parser: argparse.ArgumentParser) -> None:
    """Add the flags only the OpenAI backends take."""
    add = parser.add_argument_group("OpenAI, Azure and compatible endpoints").add_argument
    add("--model", help=f"default: {DEFAULT_MODEL} (Azure: deployment)")
    add(
        "--learning-rate-multiplier",
        type=auto_or(float, 1e-6, 10),
        metavar="X|auto",
        help="default: auto",
    )
    add("--wandb-project", metavar="P", help="report to Weights & Biases under this project")
    add("--wandb-entity", metavar="E")
    add("--wandb-tag", action="append", default=[], metavar="T", help="repeatable")
    add("--metadata", type=_metadata, action="append", default=[], metavar="KEY=VALUE")
    add("--run-id", help="idempotency key put in the job's metadata (default: the history run id)")
    add(
        "--training-type",
        choices=TRAINING_TYPES,
        help=f"Azure OpenAI only (default: {DEFAULT_TRAINING_TYPE})",
    )


def _add_local_flags(parser: argparse.ArgumentParser) -> None:
    """Add the flags only ``--backend local`` takes."""
    add = parser.add_argument_group(
        "--backend local (a LoRA adapter on this computer)"
    ).add_argument
    add("--base-model", metavar="ID|DIR", help="a Hugging Face model id or a local folder")
    add("--max-steps", type=positive_int, metavar="N", help="stop after N steps")
    add("--learning-rate", type=auto_or(float, 1e-9, 1), metavar="X|auto", help="default: auto")
    add("--lora-r", type=positive_int, metavar="N", help=f"LoRA rank (default: {LORA_R})")
    add("--lora-alpha", type=positive_int, metavar="N", help=f"default: {LORA_ALPHA}")
    add("--qlora", action="store_true", help="load the base model in 4 bits (needs a GPU)")
    add("--out", metavar="DIR", help="the folder the run writes")
    add("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    add("--merge", action="store_true", help="also save the adapter merged into the base model")


def _given(args: argparse.Namespace, dest: str) -> bool:
    return getattr(args, dest, None) not in (None, False, [])


def _refused_hosted(args: argparse.Namespace) -> str | None:
    """Return one line naming a flag a Together or Fireworks run does not take, or None."""
    for dest, flag, _ in (*OPENAI_ONLY, *LOCAL_ONLY, *FIREWORKS_ONLY):
        if dest in HOSTED_TAKES or not _given(args, dest):
            continue
        if (dest, args.backend) == ("fireworks_account_id", "fireworks"):
            continue
        instead = "; use --learning-rate" if dest == "learning_rate_multiplier" else ""
        return f"{flag} is not taken by --backend {args.backend}{instead}"
    if args.model and args.base_model and args.model != args.base_model:
        return "--model and --base-model name different models: give one"
    return None


def refused_flag(args: argparse.Namespace) -> str | None:
    """Return one line naming a flag the chosen backend does not take, or None."""
    if args.backend in HOSTED_BACKENDS:
        return _refused_hosted(args)
    for dest, flag, _ in FIREWORKS_ONLY:
        if _given(args, dest):
            return f"{flag} is only for --backend fireworks"
    local = args.backend == "local"
    for dest, flag, instead in OPENAI_ONLY if local else LOCAL_ONLY:
        if getattr(args, dest) not in (None, False, []):
            if local:
                return f"{flag} is only for the OpenAI backends, not --backend local{instead}"
            return f"{flag} is only for --backend local{instead}"
    return None


def _check_provider(backend: str | None, settings: ProviderSettings) -> None:
    """Refuse a ``--backend`` that the flags and environment's endpoint contradict.

    "openai" takes OpenAI's API at its own address or at a base URL (a proxy, a test server).
    """
    if backend in (None, settings.kind) or (backend, settings.kind) == ("openai", "compatible"):
        return
    if backend == "azure":
        raise ProviderError(
            "--backend azure needs an Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT "
            "or --azure-endpoint"
        )
    if backend == "compatible":
        raise ProviderError(
            "--backend compatible needs an endpoint: set OPENAI_BASE_URL or --base-url"
        )
    raise ProviderError(
        f"--backend {backend}, but the flags or environment choose an Azure endpoint "
        f"({settings.endpoint}); use --backend azure or unset AZURE_OPENAI_ENDPOINT"
    )


def _file_id(
    client: openai.OpenAI, endpoint: str, value: str | None, record: Recorder | None
) -> str | None:
    """Return ``value`` as a file id, uploading (and recording) it first if it is a local file."""
    if value is None or not os.path.isfile(value):
        return value
    result = upload_recorded(client, value, endpoint=endpoint, record=record)
    print(f"ftkit: {value} -> {result.file['id']}", file=sys.stderr)
    return result.file["id"]


def _show_event(job: JobInfo, event: EventInfo) -> None:
    """Print one event of a watched job to stderr, with the job's status."""
    print(f"[{job['status']}] {event['message']}", file=sys.stderr)


def _trainer(
    client: openai.OpenAI, settings: ProviderSettings, args: argparse.Namespace
) -> OpenAITrainer:
    """Return the OpenAI trainer for the endpoint, with the W&B and metadata flags."""
    wandb = None
    if args.wandb_project:
        wandb = Wandb(args.wandb_project, args.wandb_entity, tuple(args.wandb_tag))
    backend = args.backend or settings.kind
    if backend == "azure":
        return AzureTrainer(client, settings.endpoint, wandb=wandb, metadata=dict(args.metadata))
    return OpenAITrainer(
        client, settings.endpoint, backend=backend, wandb=wandb, metadata=dict(args.metadata)
    )


def _request(
    trainer: OpenAITrainer, args: argparse.Namespace, record: Recorder | None
) -> TrainRequest:
    """Return the request for an OpenAI backend, uploading local paths first.

    Azure's files are checked against Azure's rules and uploaded by its trainer.
    """
    multiplier = args.learning_rate_multiplier
    if isinstance(trainer, AzureTrainer):
        train, val = (
            _hosted_file(trainer, args.training_file),
            _hosted_file(trainer, args.validation_file),
        )
    else:
        train = _file_id(trainer.client, trainer.endpoint, args.training_file, record)
        val = _file_id(trainer.client, trainer.endpoint, args.validation_file, record)
    return TrainRequest(
        training_file=train or "",
        validation_file=val,
        training_type=args.training_type,
        base_model=args.model or DEFAULT_MODEL,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate="auto" if multiplier is None else multiplier,
        seed=args.seed,
        suffix=args.suffix or None,
    )


def run(args: argparse.Namespace) -> int:
    """Create the job (uploading paths first); return 0, or 1 if a watched job did not succeed."""
    refused = refused_flag(args)
    if refused:
        raise ProviderError(refused)
    if args.backend == "local":
        return _run_local(args)
    if args.backend in HOSTED_BACKENDS:
        return _run_hosted(args)
    if not args.training_file:
        raise ProviderError("--training-file: required (an uploaded file id or a JSONL path)")
    client, settings = client_from_args(args)
    _check_provider(args.backend, settings)
    record = None if args.no_history else quiet_recorder(current_user())
    trainer = _trainer(client, settings, args)
    if args.training_type and not isinstance(trainer, AzureTrainer):
        raise ProviderError("--training-type is only for --backend azure (Azure OpenAI)")
    request = _request(trainer, args, record)
    started = start_job(trainer, request, record=record, run_id=args.run_id)
    job = started.job
    metrics: list[MetricRow] = []
    if args.wait:
        job, events = follow_job(trainer, job["id"], interval=args.interval, on_event=_show_event)
        if started.run_id is not None or (args.json and args.backend):
            metrics = job_metrics(trainer, job["id"], events)
        if started.run_id is not None:
            record_finished(job, metrics=metrics, record=record, run_id=started.run_id)
    serving = _serving(trainer, job) if isinstance(trainer, AzureTrainer) else None
    _print_result(args, job, metrics, serving)
    return 1 if args.wait and job["status"] != "succeeded" else 0


def _serving(trainer: HostedTrainer, job: JobInfo) -> Serving | None:
    """Return how the job's model is called once it succeeded, else None."""
    return trainer.serving(job) if job["status"] == "succeeded" else None


def _print_result(
    args: argparse.Namespace, job: JobInfo, metrics: list[MetricRow], serving: Serving | None
) -> None:
    """Print the job: as today's JSON, the summary object (with ``--backend``) or text.

    The summary and the text also say how the model is served, for the backends that say.
    """
    if not args.json:
        print(format_job(job))
        if serving is not None:
            where = serving.base_url or "see the note"
            print(f"evaluate with: model {serving.model} at {where}\n{serving.note}")
        return
    shown: Any = job
    if args.backend:
        shown = summary(args.backend, job, metrics)
        if serving is not None:
            shown["serving"] = {
                "model": serving.model,
                "base_url": serving.base_url,
                "note": serving.note,
            }
    sys.stdout.write(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode() + "\n")


def _hosted_file(trainer: HostedTrainer, value: str | None) -> str | None:
    """Return ``value`` as the provider's file id, checking and uploading a local path first."""
    if value is None or not os.path.isfile(value):
        return value
    file_id = trainer.upload(value)
    print(f"ftkit: {value} -> {file_id}", file=sys.stderr)
    return file_id


def _hosted_request(trainer: HostedTrainer, args: argparse.Namespace) -> TrainRequest:
    """Return the request the shared flags describe, uploading local paths first."""
    model = args.model or args.base_model
    if not model:
        raise ProviderError(
            f"--model: name the base model to tune at {args.backend} (docs/training.md lists them)"
        )
    return TrainRequest(
        training_file=_hosted_file(trainer, args.training_file) or "",
        validation_file=_hosted_file(trainer, args.validation_file),
        base_model=model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate="auto" if args.learning_rate is None else args.learning_rate,
        lora_r=LORA_R if args.lora_r is None else args.lora_r,
        lora_alpha=LORA_ALPHA if args.lora_alpha is None else args.lora_alpha,
        seed=args.seed,
        suffix=args.suffix or None,
    )


def _run_hosted(args: argparse.Namespace) -> int:
    """Train at Together or Fireworks: check and upload, create once, optionally watch."""
    if not args.training_file:
        raise ProviderError("--training-file: required (a JSONL path or the provider's file id)")
    trainer = open_hosted(args.backend, hosted_keys_from_args(args, args.backend))
    record = None if args.no_history else quiet_recorder(current_user())
    started = start_job(trainer, _hosted_request(trainer, args), record=record, run_id=args.run_id)
    job = started.job
    metrics: list[MetricRow] = []
    if args.wait:
        job, events = follow_job(trainer, job["id"], interval=args.interval, on_event=_show_event)
        metrics = job_metrics(trainer, job["id"], events)
        record_finished(job, metrics=metrics, record=record, run_id=started.run_id)
    _print_result(args, job, metrics, _serving(trainer, job))
    return 1 if args.wait and job["status"] != "succeeded" else 0


def _run_local(args: argparse.Namespace) -> int:
    """Train on this computer (``ftkit.cli.finetune_local``), with the defaults filled in."""
    args.lora_r = LORA_R if args.lora_r is None else args.lora_r
    args.lora_alpha = LORA_ALPHA if args.lora_alpha is None else args.lora_alpha
    args.learning_rate = "auto" if args.learning_rate is None else args.learning_rate
    local = importlib.import_module("ftkit.cli.finetune_local")
    code: int = local.run_local(args)
    return code
