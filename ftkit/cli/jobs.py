"""``python -m ftkit jobs list|show ID|events ID|cancel ID|pause ID|resume ID``.

An ID that is a folder is a local training run (``finetune --backend local``): show, events,
cancel and resume work on it through the local trainer, with no API key. ``--backend`` picks
where the jobs are: ``local`` lists this folder's local runs, ``together`` and ``fireworks``
use that provider's key (``TOGETHER_API_KEY``; ``FIREWORKS_API_KEY`` and the account id);
without it, the endpoint the flags and environment choose, as before.

A job that ``finetune`` created without ``--wait`` is still "running" in the history. When one
of these commands sees such a job ended, it records how it ended on that run (its model,
tokens and final metrics), as ``finetune --wait`` would have; ``--no-history`` skips that.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ftkit.api import shown_text
from ftkit.cli import record_quietly
from ftkit.cli._provider import (
    add_hosted_flags,
    add_provider_flags,
    client_from_args,
    hosted_keys_from_args,
)
from ftkit.cli.finetune import ALL_BACKENDS, format_job
from ftkit.errors import FtkitError
from ftkit.history.recording import finish_linked_finetune, linked_run_id, pending_linked_run
from ftkit.history.store import DATABASE_URL_ENV, DEFAULT_DB_PATH
from ftkit.providers import HOSTED_BACKENDS
from ftkit.training.azure import AzureTrainer
from ftkit.training.backends import LOCAL_RUNS, open_hosted, open_trainer
from ftkit.training.jobs import JobInfo, is_terminal, list_jobs, pause_job
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.trainer import Trainer

__all__ = ["register", "run"]


def _when(stamp: int | None) -> str:
    if not stamp:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``jobs`` subcommand."""
    parser = subparsers.add_parser(
        "jobs",
        help="list, show, follow, cancel, pause or resume fine-tuning jobs",
        description="Fine-tuning jobs on the endpoint.",
    )
    parser.add_argument("action", choices=["list", "show", "events", "cancel", "pause", "resume"])
    parser.add_argument("job_id", nargs="?", metavar="ID", help="the job (all but list)")
    parser.add_argument("--limit", type=int, default=20, help="how many (list, events)")
    parser.add_argument(
        "--backend",
        choices=ALL_BACKENDS,
        help="where the jobs are (default: the endpoint the flags and environment choose)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--no-history", action="store_true", help="do not record ended jobs on their runs"
    )
    add_provider_flags(parser)
    add_hosted_flags(parser)
    parser.set_defaults(handler=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    """Run the action; return 0."""
    if args.action != "list" and not args.job_id:
        args.parser.error(f"jobs {args.action} needs a job id")
    result: Any
    trainer: Trainer
    if args.action == "list":
        trainer, result = _list(args)
        text = (
            "\n".join(
                f"{j['id']}  {j['status']:<16} {_when(j['created_at'])}  "
                f"{j['fine_tuned_model'] or j['model']}"
                for j in result
            )
            or "no fine-tuning jobs"
        )
    elif args.action == "events":
        trainer = _trainer(args)
        result = trainer.events(args.job_id, limit=args.limit)
        text = "\n".join(
            f"{_when(e['created_at'])}  {e['level']:<5} {shown_text(e['message'])}" for e in result
        )
    else:
        trainer = _trainer(args)
        result = _act(trainer, args.action, args.job_id)
        text = format_job(result)
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(text)
    if not args.no_history and args.action != "events":
        _record_ended(trainer, result if args.action == "list" else [result])
    return 0


def _list(args: argparse.Namespace) -> tuple[Trainer, list[JobInfo]]:
    """Return the backend's trainer and up to ``--limit`` of its jobs, newest first."""
    if args.backend == "local":
        from ftkit.training.local import LocalTrainer  # only when asked: the training stack

        local = LocalTrainer(Path.cwd() / LOCAL_RUNS)
        return local, local.list_jobs(args.limit)
    if args.backend in HOSTED_BACKENDS:
        hosted = open_hosted(args.backend, hosted_keys_from_args(args, args.backend))
        return hosted, hosted.list_jobs(args.limit)
    endpoint = _endpoint_trainer(args)
    return endpoint, list_jobs(endpoint.client, limit=args.limit)


def _trainer(args: argparse.Namespace) -> Trainer:
    """Return the local trainer for a run folder's id (made absolute), else the backend's."""
    if args.backend == "local" or (args.backend is None and os.path.isdir(args.job_id)):
        args.job_id = os.path.abspath(args.job_id)
        return open_trainer("local")
    if args.backend in HOSTED_BACKENDS:
        return open_hosted(args.backend, hosted_keys_from_args(args, args.backend))
    return _endpoint_trainer(args)


def _endpoint_trainer(args: argparse.Namespace) -> OpenAITrainer:
    """Return the trainer of the endpoint the flags and environment choose."""
    client, settings = client_from_args(args)
    if settings.kind == "azure":
        return AzureTrainer(client, settings.endpoint)
    return OpenAITrainer(client, settings.endpoint, backend=settings.kind)


def _act(trainer: Trainer, action: str, job_id: str) -> JobInfo:
    """Show, cancel, pause or resume the job; pausing is OpenAI's alone."""
    if action == "pause":
        if not isinstance(trainer, OpenAITrainer):
            if trainer.backend == "local":
                raise FtkitError(
                    f"{job_id}: a local run cannot be paused; cancel it and resume later"
                )
            raise FtkitError(f"{job_id}: a {trainer.backend} job cannot be paused; cancel it")
        return pause_job(trainer.client, job_id)
    actions = {"show": trainer.retrieve, "cancel": trainer.cancel, "resume": trainer.resume}
    return actions[action](job_id)


def _record_ended(trainer: Trainer, jobs: list[JobInfo]) -> None:
    """Record each ended job on the history run that created it, if that run says running."""
    linked = [job for job in jobs if is_terminal(job["status"]) and linked_run_id(job)]
    if linked and _history_exists():
        for job in linked:
            record_quietly(functools.partial(_finish, trainer, job))


def _history_exists() -> bool:
    """Return True unless the history is the default SQLite file and there is none here.

    Listing jobs in another folder must not leave an empty history database behind.
    """
    return bool(os.environ.get(DATABASE_URL_ENV, "").strip()) or DEFAULT_DB_PATH.exists()


def _finish(trainer: Trainer, job: JobInfo) -> int:
    if pending_linked_run(job) is None:
        return 0
    run = finish_linked_finetune(job, metrics=trainer.metrics(job["id"]))
    return run.id if run is not None else 0
