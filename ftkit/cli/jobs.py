"""``python -m ftkit jobs list|show ID|events ID|cancel ID|pause ID|resume ID``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from ftkit.cli._provider import add_provider_flags, client_from_args
from ftkit.cli.finetune import format_job
from ftkit.events import list_events
from ftkit.jobs import cancel_job, list_jobs, pause_job, resume_job, retrieve_job

__all__ = ["register", "run"]

_ACTIONS = {"show": retrieve_job, "cancel": cancel_job, "pause": pause_job, "resume": resume_job}


def _when(stamp: int | None) -> str:
    if not stamp:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``jobs`` subcommand."""
    parser = subparsers.add_parser(
        "jobs", help="list, show, follow, cancel, pause or resume fine-tuning jobs",
        description="Fine-tuning jobs on the endpoint.",
    )  # fmt: skip
    parser.add_argument("action", choices=["list", "show", "events", "cancel", "pause", "resume"])
    parser.add_argument("job_id", nargs="?", metavar="ID", help="the job (all but list)")
    parser.add_argument("--limit", type=int, default=20, help="how many (list, events)")
    parser.add_argument("--json", action="store_true", help="print JSON")
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
            f"{_when(e['created_at'])}  {e['level']:<5} {e['message']}" for e in result
        )
    else:
        result = _ACTIONS[args.action](client, args.job_id)
        text = format_job(result)
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(text)
    return 0
