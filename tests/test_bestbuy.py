"""End to end on 3,291 Best Buy products (../shared/fixtures): columns, specs kept, overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftkit.cli import main
from ftkit.sources.load import load_items_from_bytes

FIXTURE = Path("fixtures") / "bestbuy" / "ecommerce.json.gz"


@pytest.fixture
def bestbuy(shared_dir: Path) -> Path:
    path = shared_dir / FIXTURE
    if not path.exists():
        pytest.skip("the Best Buy fixture is not in ../shared/fixtures")
    return path


def prepare(
    capsys: pytest.CaptureFixture[str], source: Path, out: Path, *extra: str
) -> tuple[int, str, str]:
    args = ["prepare", "--source", str(source), "--out", str(out), "--no-history", *extra]
    code = main(args)
    printed, err = capsys.readouterr()
    return code, printed, err


def prepare_json(
    capsys: pytest.CaptureFixture[str], source: Path, out: Path, *extra: str
) -> dict[str, Any]:
    code, printed, err = prepare(capsys, source, out, "--json", *extra)
    assert code == 0, err
    summary: dict[str, Any] = json.loads(printed)
    return summary


def test_prepare_detects_the_columns_and_keeps_the_specs(
    bestbuy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, _ = prepare(capsys, bestbuy, tmp_path, "--train", "2800", "--validation", "200")
    assert code == 0
    assert (
        "  columns: price 'price', title 'name', text 'description', category 'categories', "
        "part-number scrub off"
    ) in printed.splitlines()
    written = (tmp_path / "fine_tune_train.jsonl").read_text()
    written += (tmp_path / "fine_tune_validation.jsonl").read_text()
    for spec in ("5.5-inch", "12-megapixel"):
        assert spec in written


def test_the_mapping_is_in_the_json(
    bestbuy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = prepare_json(capsys, bestbuy, tmp_path)
    assert summary["mapping"] == {
        "price": "price",
        "title": "name",
        "text": ["description"],
        "category": "categories",
        "min_chars": 0,
        "scrub_part_numbers": False,
    }
    assert summary["rows"] == 3291
    assert summary["loaded"] + sum(summary["dropped"].values()) == 3291


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--title-column", "name"], ("price", "name", ["description"])),
        (["--text-column", "description"], ("price", "name", ["description"])),
        (["--price-column", "price"], ("price", "name", ["description"])),
        (["--title-column", "brand"], ("price", "brand", ["description"])),
        (["--text-column", "brand"], ("price", "name", ["brand"])),
    ],
)
def test_one_named_column_keeps_the_others_detected(
    bestbuy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    expected: tuple[str, str, list[str]],
) -> None:
    mapping = prepare_json(capsys, bestbuy, tmp_path, *flags)["mapping"]
    assert (mapping["price"], mapping["title"], mapping["text"]) == expected


def test_the_scrub_can_be_turned_on(
    bestbuy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--scrub-part-numbers", "--train", "2800", "--validation", "200"]
    summary = prepare_json(capsys, bestbuy, tmp_path, *flags)
    assert summary["mapping"]["scrub_part_numbers"] is True
    assert "12-megapixel" not in Path(summary["train_path"]).read_text()


def test_a_price_column_with_no_prices_counts_the_drops(
    bestbuy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, err = prepare(capsys, bestbuy, tmp_path / "out", "--price-column", "brand")
    assert code == 2 and printed == ""
    assert err.startswith(f"ftkit: error: {bestbuy}: no usable rows, all 3,291 were dropped (")
    assert "unparseable price" in err and "columns used: price 'brand'" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_everyday_headers_work_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "shop.csv"
    rows = [
        f'Lamp {n},"A 5.5-inch, 12-megapixel lamp, model {n}","${n + 10}.00"' for n in range(30)
    ]
    source.write_text("Product Name,Blurb Text,Cost (USD)\n" + "\n".join(rows) + "\n")
    summary = prepare_json(capsys, source, tmp_path, "--train", "20", "--validation", "5")
    assert summary["mapping"]["price"] == "Cost (USD)"
    assert summary["mapping"]["title"] == "Product Name"
    assert summary["mapping"]["text"] == ["Blurb Text"]
    assert summary["train_count"] == 20
    first = json.loads(Path(summary["train_path"]).read_text().splitlines()[0])["messages"]
    assert "12-megapixel" in first[1]["content"]


def test_the_file_can_be_uploaded_as_it_is(bestbuy: Path) -> None:
    loaded = load_items_from_bytes(bestbuy.read_bytes(), bestbuy.name)
    assert len(loaded.items) + loaded.dropped_total == 3291
    assert loaded.mapping is not None and loaded.mapping.title == "name"
    assert any("12-megapixel" in item.prompt for item in loaded.items)
