"""``python -m ftkit models``: the fine-tunable models and when they stop serving.

With a key, ``GET /v1/models`` supplies announced ``shutdown_date`` values and the account's
``ft:`` models; without one, ftkit's built-in table is shown with a note.
"""

from __future__ import annotations

import argparse
import sys

import orjson

from ftkit.cli._provider import add_provider_flags, client_from_args, settings_from_args
from ftkit.training.shutdown import ModelRow, list_models, table_models

__all__ = ["format_models", "register", "run"]


def format_models(rows: list[ModelRow]) -> str:
    """Return a table: model, shutdown date and its source, availability."""
    width = max(len(r["name"]) for r in rows)
    lines = [f"{'model':<{width}}  {'shuts down':<10}  source  available"]
    for row in rows:
        avail = {True: "yes", False: "no", None: "?"}[row["available"]]
        date = row["shutdown_date"] or "-"
        lines.append(f"{row['name']:<{width}}  {date:<10}  {row['source']:<6}  {avail}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``models`` subcommand."""
    parser = subparsers.add_parser(
        "models",
        help="fine-tunable models with their shutdown dates",
        description="Fine-tunable models and their shutdown dates: from GET /v1/models where "
        "announced, else ftkit's table.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_provider_flags(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the models; return 0."""
    if settings_from_args(args).missing() is None:
        client, _ = client_from_args(args)
        rows = list_models(client)
    else:
        print("ftkit: note: no API key set; showing ftkit's built-in table", file=sys.stderr)
        rows = table_models()
    if args.json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(format_models(rows))
    return 0
