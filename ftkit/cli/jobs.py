"""``python -m ftkit jobs list|show ID|events ID|cancel ID|pause ID|resume ID``.

An ID that is a folder is a local training run (``finetune --backend local``): show, events,
cancel and resume work on it through the local trainer, with no API key; listing local runs is
not offered here.

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
from typing import Any

import orjson

from ftkit.api import shown_text
from ftkit.cli import record_quietly
from ftkit.cli._provider import add_provider_flags, client_from_args
from ftkit.cli.finetune import format_job
from ftkit.errors import FtkitError
from ftkit.history.recording import finish_linked_finetune, linked_run_id, pending_linked_run
from ftkit.history.store import DATABASE_URL_ENV, DEFAULT_DB_PATH
from ftkit.training.backends import open_trainer
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
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--no-history", action="store_true", help="do not record ended jobs on their runs"
    )
    add_provider_flags(parser)
    parser.set_defaults(handler=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    """Run the action; return 0."""
    if args.action != "list" and not args.job_id:
        args.parser.error(f"jobs {args.action} needs a job id")
    result: Any
    trainer: Trainer
    if args.action == "list":
        trainer = endpoint = _endpoint_trainer(args)
        result = list_jobs(endpoint.client, limit=args.limit)
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


def _trainer(args: argparse.Namespace) -> Trainer:
    """Return the local trainer for a run folder's id (made absolute), else the endpoint's."""
    if os.path.isdir(args.job_id):
        args.job_id = os.path.abspath(args.job_id)
        return open_trainer("local")
    return _endpoint_trainer(args)


def _endpoint_trainer(args: argparse.Namespace) -> OpenAITrainer:
    """Return the trainer of the endpoint the flags and environment choose."""
    client, settings = client_from_args(args)
    return OpenAITrainer(client, settings.endpoint, backend=settings.kind)


def _act(trainer: Trainer, action: str, job_id: str) -> JobInfo:
    """Show, cancel, pause or resume the job; pausing is OpenAI's alone."""
    if action == "pause":
        if not isinstance(trainer, OpenAITrainer):
            raise FtkitError(f"{job_id}: a local run cannot be paused; cancel it and resume later")
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
