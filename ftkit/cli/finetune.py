"""``python -m ftkit finetune``: create a fine-tuning job (and optionally watch it finish).

``--training-file`` and ``--validation-file`` take uploaded file ids; an existing local path is
uploaded first (reusing an earlier upload of the same content). Defaults are the lecture's:
gpt-4o-mini-2024-07-18, one epoch, seed 42, suffix "pricer".
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import openai
import orjson

from ftkit.cli._provider import add_provider_flags, client_from_args
from ftkit.events import list_events
from ftkit.files import upload_file
from ftkit.jobs import (
    DEFAULT_SEED,
    DEFAULT_SUFFIX,
    JobInfo,
    JobSpec,
    Wandb,
    create_job,
    wait_for_job,
)
from ftkit.models import DEFAULT_MODEL
from ftkit.providers import ProviderSettings

__all__ = ["format_job", "register", "run"]


def _auto_or(
    kind: type[int] | type[float], low: float, high: float
) -> Callable[[str], int | float | str]:
    """Return an argparse type accepting "auto" or a number from ``low`` to ``high``."""

    def parse(value: str) -> int | float | str:
        if value.strip().lower() == "auto":
            return "auto"
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number or auto, got {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, got {value}")
        return number

    return parse


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
    add("--epochs", type=_auto_or(int, 1, 50), default=1, metavar="N|auto", help="default: 1")
    add("--batch-size", type=_auto_or(int, 1, 256), default="auto", metavar="N|auto")
    add("--learning-rate-multiplier", type=_auto_or(float, 1e-6, 10), default="auto",
        metavar="X|auto")  # fmt: skip
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
    add("--run-id", help="idempotency key (default: a fresh one); reuse it to find the same job")
    add("--wait", action="store_true", help="watch the job until it finishes")
    add("--interval", type=float, default=15.0, metavar="S", help="seconds between polls (--wait)")
    add("--json", action="store_true", help="print the job as JSON")
    add_provider_flags(parser)
    parser.set_defaults(handler=run)


def _file_id(client: openai.OpenAI, settings: ProviderSettings, value: str | None) -> str | None:
    """Return ``value`` as a file id, uploading it first when it names a local file."""
    if value is None or not os.path.isfile(value):
        return value
    result = upload_file(client, value, endpoint=settings.endpoint)
    print(f"ftkit: {value} -> {result.file['id']}", file=sys.stderr)
    return result.file["id"]


def _watch(client: openai.OpenAI, job_id: str, interval: float) -> JobInfo:
    """Wait for the job, printing each new event to stderr."""
    seen: set[str] = set()

    def show(job: JobInfo) -> None:
        for event in reversed(list_events(client, job_id, limit=50)):
            if event["id"] not in seen:
                seen.add(event["id"])
                print(f"[{job['status']}] {event['message']}", file=sys.stderr)

    return wait_for_job(client, job_id, on_update=show, interval=max(0.0, interval))


def run(args: argparse.Namespace) -> int:
    """Create the job (uploading paths first); return 0, or 1 if a watched job did not succeed."""
    client, settings = client_from_args(args)
    wandb = None
    if args.wandb_project:
        wandb = Wandb(args.wandb_project, args.wandb_entity, tuple(args.wandb_tag))
    spec = JobSpec(
        training_file=_file_id(client, settings, args.training_file) or "",
        validation_file=_file_id(client, settings, args.validation_file),
        model=args.model, n_epochs=args.epochs, batch_size=args.batch_size,
        learning_rate_multiplier=args.learning_rate_multiplier, seed=args.seed,
        suffix=args.suffix or None, wandb=wandb, metadata=dict(args.metadata),
    )  # fmt: skip
    job = create_job(client, spec, run_id=args.run_id)
    if args.wait:
        job = _watch(client, job["id"], args.interval)
    if args.json:
        sys.stdout.write(orjson.dumps(job, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(format_job(job))
    return 1 if args.wait and job["status"] != "succeeded" else 0
