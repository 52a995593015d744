"""Argument types shared by the subcommands: one line of error for argparse to print."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["auto_or", "positive_int"]


def auto_or(
    kind: type[int] | type[float], low: float, high: float
) -> Callable[[str], int | float | str]:
    """Return an argparse type accepting "auto" or a number from ``low`` to ``high``."""

    def parse(value: str) -> int | float | str:
        if value.strip().lower() == "auto":
            return "auto"
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number or auto, got {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, got {value}")
        return number

    return parse


def positive_int(value: str) -> int:
    """Parse a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number
