"""Prices in every locale's form (issue 16 item 6): read right or dropped with a reason.

A price is never misread: each amount below is written as shops across the world write it,
and ``read_price`` either returns that amount or one of its reasons. An amount that rounds
to $0.00 is always dropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from ftkit.sources import prices
from ftkit.sources.load import load_items_from_bytes
from ftkit.sources.prices import (
    AMBIGUOUS_COMMA,
    AMBIGUOUS_DOT,
    MIN_PRICE,
    NOT_POSITIVE,
    OTHER_CURRENCY,
    TOO_SMALL,
    UNPARSEABLE,
    read_price,
)

REASONS = {
    value for name, value in vars(prices).items() if name.isupper() and isinstance(value, str)
}


def _grouped(amount: float, thousands: str, decimal: str, decimals: bool = True) -> str:
    text = f"{amount:,.2f}" if decimals else f"{round(amount):,}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def _indian(amount: float) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    head, tail = whole[:-3], whole[-3:]
    groups = [head[max(0, end - 2) : end] for end in range(len(head), 0, -2)][::-1]
    return ",".join([*groups, tail]) + "." + cents if head else f"{tail}.{cents}"


WRITERS: dict[str, Callable[[float], str]] = {
    "us": lambda a: _grouped(a, ",", "."),
    "us whole": lambda a: _grouped(a, ",", ".", decimals=False),
    "plain": lambda a: f"{a:.2f}",
    "german": lambda a: _grouped(a, ".", ","),
    "german whole": lambda a: _grouped(a, ".", ",", decimals=False),
    "french": lambda a: _grouped(a, "\u202f", ","),
    "french nbsp": lambda a: _grouped(a, "\u00a0", ","),
    "french space": lambda a: _grouped(a, " ", ","),
    "swiss": lambda a: _grouped(a, "'", "."),
    "swiss typographic": lambda a: _grouped(a, "\u2019", "."),
    "comma decimal": lambda a: f"{a:.2f}".replace(".", ","),
    "indian": _indian,
    "scientific": lambda a: f"{a:.9e}",
}
AMOUNTS = [0.004, 0.5, 7.0, 12.5, 999.99, 1299.0, 12345.67, 1234567.89]
CURRENCIES = ["", "$", "US$ ", "€", " €", "£", "CHF ", "¥", "R$ ", "₹", " USD", " EUR", " kr"]


def _written() -> list[tuple[str, float]]:
    """Return (price as written, the amount it says) for every writer, amount and currency."""
    cases = []
    for (name, write), amount, currency in itertools.product(WRITERS.items(), AMOUNTS, CURRENCIES):
        text = f"{currency}{write(amount)}" if not currency.startswith(" ") else write(amount)
        text += currency if currency.startswith(" ") else ""
        cases.append((text, round(amount) if name.endswith("whole") else amount))
    return cases


def test_no_price_in_any_locale_form_is_misread() -> None:
    read = 0
    for text, amount in _written():
        price = read_price(text)
        if isinstance(price, str):
            assert price in REASONS, text
            continue
        read += 1
        assert round(price, 2) == round(amount, 2) and price >= MIN_PRICE, text
    assert read > 50  # US dollars, in the US's forms, are read


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the cases
        ("1e400", UNPARSEABLE),
        ("1e3", 1000.0),
        ("€12,50", OTHER_CURRENCY),
        ("1.299,00", AMBIGUOUS_COMMA),
        ("0.004", TOO_SMALL),
        # a comma or dot that another locale reads differently
        ("0,004", AMBIGUOUS_COMMA),
        ("0,50", AMBIGUOUS_COMMA),
        ("12,50 $", AMBIGUOUS_COMMA),
        ("1,23,456.78", AMBIGUOUS_COMMA),
        ("1.299", AMBIGUOUS_DOT),
        ("$1.299", AMBIGUOUS_DOT),
        ("1'299.00", UNPARSEABLE),
        ("1\u202f299,00", UNPARSEABLE),
        ("1 299.00", UNPARSEABLE),
        ("١٢٫٥٠", UNPARSEABLE),
        # rounding to zero cents, or below zero
        ("0.0049", TOO_SMALL),
        ("$0.001", TOO_SMALL),
        ("5e-324", TOO_SMALL),
        ("0.00", NOT_POSITIVE),
        ("-0.01", NOT_POSITIVE),
        (0.0049, TOO_SMALL),
        # read right
        ("0.01", 0.01),
        ("1,299", 1299.0),
        ("$1,234,567.89", 1234567.89),
        ("１２３", 123.0),
    ],
)
def test_each_hostile_price_is_read_right_or_dropped_with_its_reason(
    text: object, expected: float | str
) -> None:
    assert read_price(text) == expected


def test_a_table_counts_each_dropped_price_by_reason() -> None:
    cells = ["12.50", "1e400", "1e3", "€12,50", "1.299,00", "0.004", "0,004", "$1,299.00"]
    description = "A fine product with enough words in its description to be kept as an item"
    rows = [f'Item {n},{description},"{cell}"' for n, cell in enumerate(cells)]
    loaded = load_items_from_bytes(
        ("title,description,price\n" + "\n".join(rows)).encode(), "p.csv"
    )
    assert [(item.title, item.price) for item in loaded.items] == [
        ("Item 0", 12.5),
        ("Item 2", 1000.0),
        ("Item 7", 1299.0),
    ]
    assert loaded.dropped == {
        UNPARSEABLE: 1,
        OTHER_CURRENCY: 1,
        AMBIGUOUS_COMMA: 2,
        TOO_SMALL: 1,
    }
