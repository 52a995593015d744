"""Prices are read in US dollars or dropped with a reason; never misread."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from ftkit.curation import parse_price
from ftkit.prices import (
    AMBIGUOUS_COMMA,
    NO_PRICE,
    NOT_POSITIVE,
    OTHER_CURRENCY,
    UNPARSEABLE,
    read_price,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # US dollars, with or without a symbol
        ("$1,299.00", 1299.0),
        ("$1,299.99", 1299.99),
        ("1,299", 1299.0),
        ("12,345,678.5", 12345678.5),
        ("19.5", 19.5),
        (".99", 0.99),
        ("US$ 12", 12.0),
        ("US $12", 12.0),
        ("12 USD", 12.0),
        ("USD 1,299.99", 1299.99),
        ("12 dollars", 12.0),
        ("$12 each", 12.0),
        ("  $ 7.25 ", 7.25),
        # numbers as numbers
        (12, 12.0),
        (19.99, 19.99),
        (np.float64(3.5), 3.5),
        (np.int64(4), 4.0),
        (Decimal("12.50"), 12.5),
        # scientific notation is read whole, never as its first digit
        ("1e3", 1000.0),
        ("2.5E2", 250.0),
        ("1e400", UNPARSEABLE),
        ("$1e3", UNPARSEABLE),
        (float("inf"), UNPARSEABLE),
        (10**400, UNPARSEABLE),
        ("inf", UNPARSEABLE),
        ("nan", UNPARSEABLE),
        # another currency is refused, never taken as dollars
        ("€45,00", OTHER_CURRENCY),
        ("€12,50", OTHER_CURRENCY),
        ("45 EUR", OTHER_CURRENCY),
        ("£5", OTHER_CURRENCY),
        ("CA$ 12", OTHER_CURRENCY),
        ("¥1000", OTHER_CURRENCY),
        # a comma that may be a decimal comma is refused
        ("45,00", AMBIGUOUS_COMMA),
        ("1.299,00", AMBIGUOUS_COMMA),
        ("12,5", AMBIGUOUS_COMMA),
        ("$45,00", AMBIGUOUS_COMMA),
        ("1 299,00", AMBIGUOUS_COMMA),
        # missing, zero or negative, or not a price at all
        (None, NO_PRICE),
        ("", NO_PRICE),
        ("   ", NO_PRICE),
        (float("nan"), NO_PRICE),  # how pandas reads an empty cell
        (0, NOT_POSITIVE),
        ("$0", NOT_POSITIVE),
        (-3, NOT_POSITIVE),
        ("-3", NOT_POSITIVE),
        ("-$5", NOT_POSITIVE),
        (True, UNPARSEABLE),
        ("call us", UNPARSEABLE),
        ("Apple iPhone 6", UNPARSEABLE),
        ("$10 - $20", UNPARSEABLE),
        ("1.299.000", UNPARSEABLE),
        ([12], UNPARSEABLE),
    ],
)
def test_read_price(value: object, expected: float | str) -> None:
    assert read_price(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("$1,299.00", 1299.0), ("€45,00", None), ("1e3", 1000.0), ("45,00", None), (None, None)],
)
def test_parse_price_is_the_price_or_none(value: object, expected: float | None) -> None:
    assert parse_price(value) == expected
