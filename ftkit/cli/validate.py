"""``python -m ftkit validate FILE``: the pre-flight check from the command line.

Exit code 0: no errors (warnings allowed); 1: errors; 2: a file cannot be read (or another
``FtkitError``, turned into one line by ``ftkit.cli.main``).
"""

from __future__ import annotations

import argparse
import sys

import orjson

from ftkit.cli import record_quietly
from ftkit.cli.arguments import auto_or
from ftkit.history.recording import current_user, record_validate, validate_settings
from ftkit.preflight.cost import DEFAULT_EPOCHS, MAX_EPOCHS
from ftkit.preflight.report import CheckReport
from ftkit.preflight.scan import check_file, format_report, report_to_json
from ftkit.training.models import DEFAULT_MODEL

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate",
        help="check a chat fine-tuning JSONL file before upload: rules, tokens and cost",
        description="Check a chat fine-tuning JSONL file locally before upload: every rule "
        "OpenAI enforces, token counts with the model's own tokenizer, and the cost.",
    )
    parser.add_argument("file", help="the training JSONL file")
    parser.add_argument("--validation", metavar="FILE", help="a validation JSONL file")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"default: {DEFAULT_MODEL}")
    parser.add_argument(
        "--epochs",
        type=auto_or(int, 1, MAX_EPOCHS),
        default=DEFAULT_EPOCHS,
        metavar="N|auto",
        help=f"training epochs to price (default: {DEFAULT_EPOCHS}, as finetune launches; "
        "auto: OpenAI's rule)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-history", action="store_true", help="do not record this run")
    parser.set_defaults(handler=run)


def _epochs(args: argparse.Namespace) -> int | None:
    """Return the chosen epochs, or None for OpenAI's rule ("auto")."""
    return None if args.epochs == "auto" else int(args.epochs)


def _record(args: argparse.Namespace, report: CheckReport) -> int:
    settings = validate_settings(
        args.file,
        validation_path=args.validation,
        model=args.model,
        epochs=_epochs(args),
    )
    return record_validate(report, settings, user=current_user())


def run(args: argparse.Namespace) -> int:
    """Check the file(s) and print the report; return 0 (no errors) or 1 (errors)."""
    report = check_file(
        args.file,
        validation_path=args.validation,
        model=args.model,
        epochs=_epochs(args),
    )
    if not args.no_history:
        record_quietly(lambda: _record(args, report))
    if args.json:
        if report.notice:
            print(f"ftkit: note: {report.notice}", file=sys.stderr)
        sys.stdout.write(orjson.dumps(report_to_json(report), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        print(format_report(report))
    return 0 if report.ok else 1
