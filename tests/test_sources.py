from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from ftkit.errors import SourceError
from ftkit.sources.amazon import build_prompt, scrub
from ftkit.sources.load import ColumnMapping, load_items, load_items_from_bytes

AMAZON = {
    "title": "Acme 12-Cup Coffee Maker",
    "main_category": "Home & Kitchen",
    "features": ["Brews 12 cups", "Keeps warm for 2 hours", "Reusable filter"],
    "description": ["A dependable drip coffee maker for busy mornings. " * 6],
    "details": {"Brand": "Acme", "Date First Available": "May 1, 2020", "Color": "Black"},
    "price": 49.99,
}


def test_built_in_sample_has_the_lectures_sizes() -> None:
    train = load_items("sample")
    test = load_items("sample", split="test")
    assert len(train.items) >= 800
    assert len(test.items) >= 250
    assert train.dropped_total == train.rows - len(train.items)
    assert len({item.category for item in train.items}) >= 8
    assert all(item.prompt.endswith(".00") for item in train.items)


def test_amazon_records_become_course_prompts(tmp_path: Path) -> None:
    path = tmp_path / "meta.jsonl.gz"
    lines = [AMAZON, {**AMAZON, "title": "No price", "price": None}, {**AMAZON, "price": "—"}]
    path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in lines).encode()))
    loaded = load_items(path)
    assert loaded.rows == 3
    assert loaded.dropped == {"no price": 1, "unparseable price": 1}
    [item] = loaded.items
    assert item.category == "Home & Kitchen"
    assert item.prompt.startswith("How much does this cost to the nearest dollar?\n\nAcme")
    assert item.prompt.endswith("\n\nPrice is $50.00")
    assert "Date First Available" not in item.prompt
    assert "Brand Acme" in item.prompt


def test_short_amazon_text_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "meta.jsonl"
    short = {**AMAZON, "description": [], "features": ["tiny"], "details": {}}
    path.write_text(json.dumps(AMAZON) + "\n" + json.dumps(short) + "\n")
    loaded = load_items(path)
    assert len(loaded.items) == 1
    assert loaded.dropped == {"under 300 characters of text": 1}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".json"])
def test_tabular_formats_with_detected_columns(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame(
        {
            "name": ["Desk lamp", "Stapler", "Broken"],
            "description": ["LED, dimmable", "Metal, 20 sheets", "No price here"],
            "price": [24.5, 9.99, None],
        }
    )
    path = tmp_path / f"items{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_json(path, orient="records")
    loaded = load_items(path)
    assert [i.title for i in loaded.items] == ["Desk lamp", "Stapler"]
    assert [i.price for i in loaded.items] == [24.5, 9.99]
    assert loaded.dropped == {"no price": 1}
    assert loaded.mapping == ColumnMapping(price="price", title="name", text=("description",))


def test_explicit_mapping(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("label,blurb,usd\nLamp,Bright,$1,299.00\n")
    path.write_text('label,blurb,usd\nLamp,Bright,"$1,299.00"\n')
    loaded = load_items(path, mapping=ColumnMapping(price="usd", title="label", text=("blurb",)))
    assert loaded.items[0].price == 1299.0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("items.csv", b"title,description\nLamp,Bright\n", "no price column"),
        ("items.jsonl", b'{"price": 1}\nnot json\n', "line 2 is not valid JSON"),
        ("items.parquet", b"not parquet", "cannot parse as parquet"),
        ("items.xlsx", b"PK", "unsupported file type"),
        ("items.csv", b"", "cannot parse as csv"),
        ("items.csv", "title,price\nLamp,€45\n".encode(), "1 price in another currency"),
    ],
)
def test_bad_files_give_one_clear_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        load_items(path)
    assert message in str(info.value)
    assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        load_items(tmp_path / "missing.csv")
    with pytest.raises(SourceError, match="is a folder"):
        load_items(tmp_path)


def test_uploaded_pickles_are_refused() -> None:
    with pytest.raises(SourceError, match="pickles cannot be uploaded"):
        load_items_from_bytes(b"\x80\x04\x95", "train.pkl")
    with pytest.raises(SourceError, match="pickles cannot be uploaded"):
        load_items_from_bytes(b"\x80\x04\x95", "sneaky.csv")


def test_scrub_and_prompt() -> None:
    assert scrub('Model: "KT-48213" [new] {x}') == "Model new x"
    assert scrub('Model: "KT-48213" 5.5-inch', part_numbers=False) == "Model KT-48213 5.5-inch"
    assert build_prompt("Lamp", "Bright", 26.4) == (
        "How much does this cost to the nearest dollar?\n\nLamp\nBright\n\nPrice is $26.00"
    )


def test_bestbuy_fixture_loads(shared_dir: Path) -> None:
    path = shared_dir / "fixtures" / "bestbuy" / "ecommerce.json.gz"
    if not path.exists():
        pytest.skip("bestbuy fixture missing")
    loaded = load_items(path)
    assert len(loaded.items) > 3000
    assert loaded.mapping is not None and loaded.mapping.title == "name"
