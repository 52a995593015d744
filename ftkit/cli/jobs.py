"""``python -m ftkit jobs list|show ID|events ID|cancel ID|pause ID|resume ID``.

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

import openai
import orjson

from ftkit.api import shown_text
from ftkit.cli import record_quietly
from ftkit.cli._provider import add_provider_flags, client_from_args
from ftkit.cli.finetune import format_job
from ftkit.history.recording import finish_linked_finetune, linked_run_id, pending_linked_run
from ftkit.history.store import DATABASE_URL_ENV, DEFAULT_DB_PATH
from ftkit.training.events import collect_metrics, list_checkpoints, list_events
from ftkit.training.jobs import (
    JobInfo,
    cancel_job,
    is_terminal,
    list_jobs,
    pause_job,
    resume_job,
    retrieve_job,
)

__all__ = ["register", "run"]

_ACTIONS = {"show": retrieve_job, "cancel": cancel_job, "pause": pause_job, "resume": resume_job}


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
    client, _ = client_from_args(args)
    result: Any
    if args.action == "list":
        result = list_jobs(client, limit=args.limit)
        text = (
            "\n".join(
                f"{j['id']}  {j['status']:<16} {_when(j['created_at'])}  "
                f"{j['fine_tuned_model'] or j['model']}"
                for j in result
            )
            or "no fine-tuning jobs"
        )
    elif args.action == "events":
        result = list_events(client, args.job_id, limit=args.limit)
        text = "\n".join(
            f"{_when(e['created_at'])}  {e['level']:<5} {shown_text(e['message'])}" for e in result
        )
    else:
        result = _ACTIONS[args.action](client, args.job_id)
        text = format_job(result)
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(text)
    if not args.no_history and args.action != "events":
        _record_ended(client, result if args.action == "list" else [result])
    return 0


def _record_ended(client: openai.OpenAI, jobs: list[JobInfo]) -> None:
    """Record each ended job on the history run that created it, if that run says running."""
    linked = [job for job in jobs if is_terminal(job["status"]) and linked_run_id(job)]
    if linked and _history_exists():
        for job in linked:
            record_quietly(functools.partial(_finish, client, job))


def _history_exists() -> bool:
    """Return True unless the history is the default SQLite file and there is none here.

    Listing jobs in another folder must not leave an empty history database behind.
    """
    return bool(os.environ.get(DATABASE_URL_ENV, "").strip()) or DEFAULT_DB_PATH.exists()


def _finish(client: openai.OpenAI, job: JobInfo) -> int:
    if pending_linked_run(job) is None:
        return 0
    metrics = collect_metrics(list_events(client, job["id"]), list_checkpoints(client, job["id"]))
    run = finish_linked_finetune(job, metrics=metrics)
    return run.id if run is not None else 0
