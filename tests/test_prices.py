"""Prices are read in US dollars or dropped with a reason; never misread."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from ftkit.sources.amazon import parse_price
from ftkit.sources.prices import (
    AMBIGUOUS_COMMA,
    AMBIGUOUS_DOT,
    MAX_PRICE,
    NO_PRICE,
    NOT_POSITIVE,
    OTHER_CURRENCY,
    TOO_LARGE,
    TOO_SMALL,
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
        ("1.299.000", AMBIGUOUS_DOT),
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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # a dot before exactly three digits may separate thousands (Europe, Latin America)
        ("1.299", AMBIGUOUS_DOT),
        ("12.345", AMBIGUOUS_DOT),
        ("$1.299", AMBIGUOUS_DOT),
        ("0.125", 0.125),
        ("1.5", 1.5),
        # marks beside the amount that change what it means
        ("45,-", AMBIGUOUS_COMMA),
        ("(5)", NOT_POSITIVE),
        ("($5.00)", NOT_POSITIVE),
        ("5-", UNPARSEABLE),
        ("12.50-", UNPARSEABLE),
        ("45 -", UNPARSEABLE),
        ("5+", UNPARSEABLE),
        ("$5.99/month", UNPARSEABLE),
        ("From $5", UNPARSEABLE),
        ("Free", UNPARSEABLE),
        ("+5", 5.0),
        ("~$5", 5.0),
        ("Price: $5", 5.0),
        ("usd 12", 12.0),
        ("45.", 45.0),
        (" $ 45 ", 45.0),
        # a sentinel, not a product's price
        (1e300, TOO_LARGE),
        ("1e300", TOO_LARGE),
        ("$1,000,000,001", TOO_LARGE),
        (MAX_PRICE, MAX_PRICE),
        # under a cent, the messages would say $0.00
        ("0.001", TOO_SMALL),
        (0.004, TOO_SMALL),
        ("$0.01", 0.01),
    ],
)
def test_other_catalogues_prices_are_read_or_refused_never_misread(
    value: object, expected: float | str
) -> None:
    assert read_price(value) == expected
