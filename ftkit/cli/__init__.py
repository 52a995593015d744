"""The command line, ``python -m ftkit``: a thin layer over the library.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler``; a handler returns the exit code. Any ``FtkitError`` becomes one
line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from ftkit.errors import FtkitError

if TYPE_CHECKING:
    from ftkit.history.recorder import Recorder
    from ftkit.history.store import HistoryStore

__all__ = ["build_parser", "main", "quiet_recorder", "record_quietly"]

T = TypeVar("T")

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


# Subcommands in the order ``--help`` lists them; each is the module ``ftkit.cli.<name>``.
COMMANDS = (
    "prepare",
    "validate",
    "upload",
    "finetune",
    "jobs",
    "models",
    "export",
    "evaluate",
    "history",
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the top-level parser: only ``command``'s subparser when it names one, else all.

    Importing one subcommand's module keeps start-up fast: ``prepare`` never loads the SDK.
    """
    parser = argparse.ArgumentParser(
        prog="ftkit" if os.path.basename(sys.argv[0]) == "ftkit" else "python -m ftkit",
        description="Turn a dataset of items into chat fine-tuning data, check it and train.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        if command in COMMANDS and name != command:
            continue
        register: Register = importlib.import_module(f"ftkit.cli.{name}").register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = next((arg for arg in arguments if not arg.startswith("-")), None)
    args = build_parser(command).parse_args(arguments)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except FtkitError as err:
        print(f"ftkit: error: {_masked(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``ftkit evaluate ... | head``): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _masked(text: str) -> str:
    """Return ``text`` with the keys from the environment and ``.env`` masked."""
    from ftkit.providers import env_settings, redact

    settings = env_settings()
    keys = (settings.get("OPENAI_API_KEY"), settings.get("AZURE_OPENAI_API_KEY"))
    return redact(text, tuple(key for key in keys if key))


def record_quietly(record: Callable[[], T]) -> T | None:
    """Record a run for another command; on failure print one note and carry on.

    The history is a side record: a command that did its work never fails because of it.
    While another process keeps the database locked, one line says so; the wait is bounded
    (``$FTKIT_HISTORY_WAIT``). The history store is imported only here, so loading it costs
    nothing until there is something to record.
    """
    from ftkit.history.store import wait_notice

    try:
        with wait_notice(_say_waiting):
            return record()
    except FtkitError as err:
        print(f"ftkit: note: not recorded in the history ({err})", file=sys.stderr)
        return None


def _say_waiting() -> None:
    print("ftkit: waiting for the history database (locked by another process)...", file=sys.stderr)


def quiet_recorder(user: str) -> Recorder:
    """Return the CLI's recorder: the default store, as ``user``, through ``record_quietly``."""

    def recorder(record: Callable[[HistoryStore | None, str], T], /) -> T | None:
        return record_quietly(lambda: record(None, user))

    return recorder
