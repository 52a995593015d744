"""The command line, ``python -m ftkit``: a thin layer over the library.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler``; a handler returns the exit code. Any ``FtkitError`` becomes one
line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ftkit.errors import FtkitError

__all__ = ["build_parser", "main"]

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrars() -> list[Register]:
    """Return each subcommand module's ``register``; one line per subcommand."""
    from ftkit.cli import (
        evaluate,
        export,
        finetune,
        history,
        jobs,
        models,
        prepare,
        upload,
        validate,
    )

    return [
        prepare.register,
        validate.register,
        upload.register,
        finetune.register,
        jobs.register,
        models.register,
        export.register,
        evaluate.register,
        history.register,
    ]


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="python -m ftkit",
        description="Turn a dataset of items into chat fine-tuning data, check it and train.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for register in _registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except FtkitError as err:
        print(f"ftkit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftkit: interrupted", file=sys.stderr)
        return 130
