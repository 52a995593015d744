"""``python -m ftkit export``: the prepared split in another trainer's format.

Exit code 0: written; 1: the trainer's published rules reject the split (nothing written, one
line on stderr); 2: a file cannot be read or written (missing file, invalid JSONL line, an
unwritable folder), also one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from ftkit.errors import ExportCheckError
from ftkit.exports import FORMATS, RULES, ExportResult, load_examples, write_export

__all__ = ["register", "result_to_json", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="write the prepared split in another trainer's format, checked against its rules",
        description="Check the chat JSONL that prepare wrote against a trainer's published "
        "rules, then write it in that trainer's format. Formats: "
        + ", ".join(f"{name} ({RULES[name].trainer})" for name in FORMATS)
        + ".",
    )
    parser.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        metavar="FORMAT",
        help="one of: " + ", ".join(FORMATS),
    )
    parser.add_argument("--train", required=True, metavar="FILE", help="training chat JSONL")
    parser.add_argument("--validation", metavar="FILE", help="validation chat JSONL")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def result_to_json(result: ExportResult) -> dict[str, Any]:
    """Return the ``--json`` object for an export."""
    return {
        "format": result.format,
        "files": [str(path) for path in result.files],
        "examples": result.examples,
        "validation_examples": result.validation_examples,
        "notes": result.notes,
    }


def format_result(result: ExportResult) -> str:
    """Return the human summary of an export."""
    rules = RULES[result.format]
    lines = [
        f"Exported {result.examples:,} training and {result.validation_examples:,} validation "
        f"examples for {rules.trainer} ({result.format}):"
    ]
    lines += [f"  {path}" for path in result.files]
    lines += [f"note: {note}" for note in result.notes]
    lines.append(f"Rules as of {rules.as_of}: {rules.doc_url}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``export``; return the exit code."""
    examples = load_examples(args.train)
    validation = load_examples(args.validation) if args.validation else None
    try:
        result = write_export(args.format, examples, validation, out_dir=args.out)
    except ExportCheckError as err:
        print(f"ftkit: error: {err}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(result_to_json(result)).decode() + "\n")
    else:
        print(format_result(result))
    return 0
