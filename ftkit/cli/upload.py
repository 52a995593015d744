"""``python -m ftkit upload FILE``: upload a fine-tuning file, the way the lecture does.

Prints the file object (id, bytes, filename, purpose, status); ``--json`` prints it as JSON.
A file that fails the pre-flight check is refused unless ``--force``; the same content uploaded
before to the same endpoint is reused unless ``--fresh``.
"""

from __future__ import annotations

import argparse
import sys

import orjson

from ftkit.cli import quiet_recorder
from ftkit.cli._provider import add_provider_flags, client_from_args
from ftkit.history.recording import current_user
from ftkit.training.files import FileInfo
from ftkit.training.launch import upload_recorded
from ftkit.training.models import DEFAULT_MODEL

__all__ = ["format_file", "register", "run"]


def format_file(info: FileInfo) -> str:
    """Return the file object as the lecture shows it."""
    return (
        f"FileObject(id='{info['id']}', bytes={info['bytes']}, filename='{info['filename']}', "
        f"purpose='{info['purpose']}', status='{info['status']}')"
    )


class _Progress:
    """Percentages on stderr, only when stderr is a terminal."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.shown = -1
        self.enabled = sys.stderr.isatty()

    def __call__(self, sent: int, total: int) -> None:
        percent = 100 * sent // max(total, 1)
        if self.enabled and percent != self.shown:
            self.shown = percent
            end = "\n" if sent >= total else ""
            print(f"\r{self.name}: {percent:3d}% of {total:,} bytes", end=end, file=sys.stderr)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``upload`` subcommand."""
    parser = subparsers.add_parser(
        "upload",
        help="upload a fine-tuning JSONL file (files over 512 MB through the Uploads API)",
        description="Upload a chat fine-tuning JSONL file with purpose fine-tune and wait until "
        "it is processed. Needs OPENAI_API_KEY (or the Azure settings).",
    )
    parser.add_argument("file", help="the JSONL file")
    parser.add_argument(
        "--no-wait", action="store_true", help="do not wait for the file to be processed"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="upload again even if this content was uploaded before"
    )
    parser.add_argument(
        "--force", action="store_true", help="upload even if the pre-flight check finds errors"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model for the pre-flight check")
    parser.add_argument("--json", action="store_true", help="print the file object as JSON")
    parser.add_argument("--no-history", action="store_true", help="do not record this run")
    add_provider_flags(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Upload the file and print the file object; return 0."""
    client, settings = client_from_args(args)
    result = upload_recorded(
        client,
        args.file,
        endpoint=settings.endpoint,
        record=None if args.no_history else quiet_recorder(current_user()),
        model=args.model,
        wait=not args.no_wait,
        fresh=args.fresh,
        override=args.force,
        override_hint="pass --force to upload it anyway",
        on_progress=_Progress(args.file),
    )
    if result.reused:
        print(
            f"ftkit: note: {args.file} was uploaded before; reusing {result.file['id']} "
            "(--fresh uploads again)",
            file=sys.stderr,
        )
    if args.json:
        sys.stdout.write(orjson.dumps(result.file, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(format_file(result.file))
    return 0
