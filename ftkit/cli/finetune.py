"""``python -m ftkit finetune``: create a fine-tuning job (and optionally watch it finish).

``--training-file`` and ``--validation-file`` take uploaded file ids; an existing local path is
uploaded first (reusing an earlier upload of the same content). Defaults are the lecture's:
gpt-4o-mini-2024-07-18, ``DEFAULT_EPOCHS`` (one) epoch, the same number ``validate`` and the
dashboard's Check page price, seed 42, suffix "pricer".

The run is recorded in the history (status "running") before the job is created, and the job
carries that run's id in its metadata as ``ftkit_run_id``; ``--wait`` records how it ended.
"""

from __future__ import annotations

import argparse
import os
import sys

import openai
import orjson

from ftkit.cli import quiet_recorder
from ftkit.cli._provider import add_provider_flags, client_from_args
from ftkit.cli.arguments import auto_or, positive_int
from ftkit.history.recorder import Recorder
from ftkit.history.recording import current_user
from ftkit.preflight.cost import DEFAULT_EPOCHS, MAX_EPOCHS
from ftkit.training.events import EventInfo
from ftkit.training.jobs import DEFAULT_SEED, DEFAULT_SUFFIX, JobInfo, JobSpec, Wandb
from ftkit.training.launch import record_finished, start_job, upload_recorded
from ftkit.training.models import DEFAULT_MODEL
from ftkit.training.monitor import follow_job, job_metrics

__all__ = ["format_job", "register", "run"]


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


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``finetune`` subcommand."""
    parser = subparsers.add_parser(
        "finetune",
        help="create a fine-tuning job (the lecture's defaults) and optionally wait for it",
        description="Create a supervised fine-tuning job. Creation is idempotent: a run id in the "
        "job's metadata lets a retry find the job instead of creating a second one.",
    )
    add = parser.add_argument
    add("--training-file", required=True, metavar="ID|FILE", help="uploaded file id or a path")
    add("--validation-file", metavar="ID|FILE", help="uploaded file id or a path")
    add("--model", default=DEFAULT_MODEL, help=f"default: {DEFAULT_MODEL} (Azure: deployment)")
    add(
        "--epochs",
        type=auto_or(int, 1, MAX_EPOCHS),
        default=DEFAULT_EPOCHS,
        metavar="N|auto",
        help=f"default: {DEFAULT_EPOCHS}, the number validate prices",
    )
    add("--batch-size", type=auto_or(int, 1, 256), default="auto", metavar="N|auto")
    add(
        "--learning-rate-multiplier",
        type=auto_or(float, 1e-6, 10),
        default="auto",
        metavar="X|auto",
    )
    add("--seed", type=int, default=DEFAULT_SEED, help=f"default: {DEFAULT_SEED}")
    add(
        "--suffix",
        default=DEFAULT_SUFFIX,
        help=f"at most 64 characters (default: {DEFAULT_SUFFIX})",
    )
    add("--wandb-project", metavar="P", help="report to Weights & Biases under this project")
    add("--wandb-entity", metavar="E")
    add("--wandb-tag", action="append", default=[], metavar="T", help="repeatable")
    add("--metadata", type=_metadata, action="append", default=[], metavar="KEY=VALUE")
    add("--run-id", help="idempotency key put in the job's metadata (default: the history run id)")
    add("--wait", "--watch", action="store_true", help="watch the job until it finishes")
    add("--interval", type=float, default=15.0, metavar="S", help="seconds between polls (--wait)")
    add("--json", action="store_true", help="print the job as JSON")
    add("--no-history", action="store_true", help="do not record this run (or its uploads)")
    local = parser.add_argument_group("--backend local (LoRA on this computer, docs/training.md)")
    add("--backend", choices=["openai", "local"], default="openai", help="default: openai")
    local.add_argument("--base-model", metavar="ID|DIR", help="Hub id or model folder to adapt")
    local.add_argument("--max-steps", type=positive_int, metavar="N", help="stop after N steps")
    local.add_argument(
        "--learning-rate", type=auto_or(float, 1e-8, 1), default="auto", metavar="X|auto"
    )
    local.add_argument("--lora-r", type=positive_int, default=16, metavar="N", help="default: 16")
    local.add_argument("--lora-alpha", type=positive_int, default=32, metavar="N")
    local.add_argument("--qlora", action="store_true", help="4-bit base model (CUDA only)")
    local.add_argument("--out", metavar="DIR", help="the run folder (default: .ftkit/local-runs)")
    local.add_argument("--resume", action="store_true", help="continue or follow the run in --out")
    local.add_argument("--merge", action="store_true", help="also save the merged model")
    add_provider_flags(parser)
    parser.set_defaults(handler=run)


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


def _spec(
    client: openai.OpenAI, endpoint: str, args: argparse.Namespace, record: Recorder | None
) -> JobSpec:
    wandb = None
    if args.wandb_project:
        wandb = Wandb(args.wandb_project, args.wandb_entity, tuple(args.wandb_tag))
    return JobSpec(
        training_file=_file_id(client, endpoint, args.training_file, record) or "",
        validation_file=_file_id(client, endpoint, args.validation_file, record),
        model=args.model,
        n_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate_multiplier=args.learning_rate_multiplier,
        seed=args.seed,
        suffix=args.suffix or None,
        wandb=wandb,
        metadata=dict(args.metadata),
    )


def run(args: argparse.Namespace) -> int:
    """Create the job (uploading paths first); return 0, or 1 if a watched job did not succeed."""
    if args.backend == "local":
        from ftkit.cli.finetune_local import run_local

        return run_local(args)
    client, settings = client_from_args(args)
    record = None if args.no_history else quiet_recorder(current_user())
    spec = _spec(client, settings.endpoint, args, record)
    started = start_job(client, spec, endpoint=settings.endpoint, record=record, run_id=args.run_id)
    job = started.job
    if args.wait:
        job, events = follow_job(client, job["id"], interval=args.interval, on_event=_show_event)
        if started.run_id is not None:
            metrics = job_metrics(client, job["id"], events)
            record_finished(job, metrics=metrics, record=record, run_id=started.run_id)
    if args.json:
        sys.stdout.write(orjson.dumps(job, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(format_job(job))
    return 1 if args.wait and job["status"] != "succeeded" else 0
