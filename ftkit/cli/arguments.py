"""Argument types shared by the subcommands: one line of error for argparse to print."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ftkit.sources.columns import ColumnOverrides

__all__ = ["add_column_arguments", "auto_or", "column_overrides", "positive_int"]


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


def add_column_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags that name a table's columns (each overrides only its own role)."""
    add = parser.add_argument
    add("--title-column", help="column holding the title (else detected)")
    add("--text-column", action="append", help="column(s) holding the text (else detected)")
    add("--price-column", help="column holding the price (else detected)")
    add("--category-column", help="column holding the category (else detected)")
    add(
        "--scrub-part-numbers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="drop words of 7+ characters with a digit, the course's part-number rule "
        "(default: on for Amazon-2023 records only)",
    )


def column_overrides(args: argparse.Namespace) -> ColumnOverrides:
    """Return the columns named by ``add_column_arguments``' flags."""
    return ColumnOverrides(
        price=args.price_column,
        title=args.title_column,
        text=tuple(args.text_column or ()),
        category=args.category_column,
        scrub_part_numbers=args.scrub_part_numbers,
    )
