"""Column detection: normalised headers, synonyms, one role per column, single-role overrides."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ftkit.errors import SourceError
from ftkit.sources.columns import (
    ColumnMapping,
    ColumnOverrides,
    describe_mapping,
    detect_mapping,
    normalise_header,
)
from ftkit.sources.load import load_items

AMAZON = ["title", "main_category", "features", "description", "details", "price", "store"]


@pytest.mark.parametrize(
    ("header", "normalised"),
    [
        ("Product Name", "product name"),
        ("Cost (USD)", "cost"),
        ("  Blurb_Text ", "blurb text"),
        ("PRICE-USD", "price usd"),
        ("list.price [$]", "list price"),
        ("Main Category", "main category"),
    ],
)
def test_headers_are_normalised(header: str, normalised: str) -> None:
    assert normalise_header(header) == normalised


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            ["Product Name", "Blurb Text", "Cost (USD)"],
            ("Cost (USD)", "Product Name", "Blurb Text", None),
        ),
        (
            ["name", "description", "price", "categories"],
            ("price", "name", "description", "categories"),
        ),
        (
            ["Item Name", "Long Description", "MSRP", "Department"],
            ("MSRP", "Item Name", "Long Description", "Department"),
        ),
        (
            ["SKU", "Product Title", "Details", "Sale Price", "Type"],
            ("Sale Price", "Product Title", "Details", "Type"),
        ),
        (["product", "summary", "amount"], ("amount", "product", "summary", None)),
        (["text", "price_usd"], ("price_usd", None, "text", None)),
    ],
)
def test_common_headers_are_detected(
    columns: list[str], expected: tuple[str, str | None, str, str | None]
) -> None:
    mapping = detect_mapping(columns)
    assert (mapping.price, mapping.title, *mapping.text, mapping.category) == expected
    assert not mapping.scrub_part_numbers


def test_a_price_in_another_currency_is_never_detected() -> None:
    mapping = detect_mapping(["name", "Price (EUR)", "Price (USD)"])
    assert mapping.price == "Price (USD)"
    with pytest.raises(SourceError, match="no price column"):
        detect_mapping(["name", "Price (EUR)", "Preis"], "items.csv")


def test_no_column_takes_two_roles() -> None:
    mapping = detect_mapping(
        ["price", "name", "description"], overrides=ColumnOverrides(text=("name",))
    )
    assert mapping.text == ("name",) and mapping.title is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (ColumnOverrides(title="label"), ("price", "label", ("description",))),
        (ColumnOverrides(text=("blurb",)), ("price", "name", ("blurb",))),
        (ColumnOverrides(price="usd"), ("usd", "name", ("description",))),
        (
            ColumnOverrides(text=("blurb", "description")),
            ("price", "name", ("blurb", "description")),
        ),
    ],
)
def test_a_named_column_overrides_only_itself(
    overrides: ColumnOverrides, expected: tuple[str, str, tuple[str, ...]]
) -> None:
    columns = ["name", "label", "description", "blurb", "price", "usd"]
    mapping = detect_mapping(columns, overrides=overrides)
    assert (mapping.price, mapping.title, mapping.text) == expected


def test_a_named_column_that_is_missing_is_one_line() -> None:
    with pytest.raises(SourceError) as info:
        detect_mapping(["name", "price"], "items.csv", ColumnOverrides(title="Title"))
    assert str(info.value) == "items.csv: no column named Title (columns: name, price)"


def test_amazon_records_get_the_course_rules() -> None:
    mapping = detect_mapping(AMAZON)
    assert mapping.text == ("description", "features", "details")
    assert mapping.category == "main_category"
    assert mapping.min_chars == 300 and mapping.scrub_part_numbers
    turned_off = detect_mapping(AMAZON, overrides=ColumnOverrides(scrub_part_numbers=False))
    assert not turned_off.scrub_part_numbers


def test_the_scrub_is_off_for_other_sources_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "phones.csv"
    text = "A 5.5-inch screen, a 12-megapixel camera and an IP57-waterproof body."
    pd.DataFrame({"name": ["Phone X200"], "description": [text], "price": [199]}).to_csv(path)
    kept = load_items(path).items[0].prompt
    assert "5.5-inch" in kept and "12-megapixel" in kept and "IP57-waterproof" in kept
    scrubbed = load_items(path, overrides=ColumnOverrides(scrub_part_numbers=True)).items[0]
    assert "12-megapixel" not in scrubbed.prompt and "screen" in scrubbed.prompt


def test_the_mapping_reads_in_one_line() -> None:
    mapping = ColumnMapping(price="Cost (USD)", title="Product Name", text=("Blurb Text",))
    assert describe_mapping(mapping) == (
        "price 'Cost (USD)', title 'Product Name', text 'Blurb Text', category none, "
        "part-number scrub off"
    )
