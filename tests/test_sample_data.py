"""The shipped sample: shape, splits, real catalogue price noise, uniqueness, reproducibility."""

from __future__ import annotations

import gzip
import json
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ftkit import load_items
from ftkit.evaluation.predictors import make_baseline
from ftkit.evaluation.run import evaluate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "ftkit" / "data" / "sample_items.jsonl.gz"
GENERATOR = ROOT / "tools" / "make_sample.py"
KEYS = {"title", "main_category", "features", "description", "details", "price", "store", "split"}


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """Return the shipped records, parsed line by line."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def of_split(records: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    return [r for r in records if r["split"] == split]


@pytest.mark.parametrize(("split", "at_least"), [("train", 1100), ("test", 300)])
def test_split_sizes_and_categories(
    records: list[dict[str, Any]], split: str, at_least: int
) -> None:
    rows = of_split(records, split)
    assert len(rows) >= at_least
    assert len({r["main_category"] for r in rows}) >= 8


def test_every_record_has_the_metadata_shape(records: list[dict[str, Any]]) -> None:
    for r in records:
        assert set(r) == KEYS, r["title"]
        assert isinstance(r["title"], str) and isinstance(r["store"], str)
        assert 3 <= len(r["features"]) <= 6
        assert 1 <= len(r["description"]) <= 3
        assert 4 <= len(r["details"]) <= 7
        assert all(isinstance(v, str) for v in r["details"].values())
        assert r["split"] in ("train", "test")


def test_prices_are_plausible(records: list[dict[str, Any]]) -> None:
    prices = [r["price"] for r in records if r["price"] is not None]
    assert all(0.5 <= p <= 999.5 for p in prices)
    assert all(round(p, 2) == p for p in prices)


def test_prices_have_a_long_right_tail(records: list[dict[str, Any]]) -> None:
    prices = sorted(r["price"] for r in records if r["price"] is not None)
    median = prices[len(prices) // 2]
    assert median < 100
    assert sum(p < 50 for p in prices) >= len(prices) / 4  # many cheap items
    assert sum(p > 500 for p in prices) >= len(prices) / 50  # and some dear ones
    assert statistics.mean(prices) > 1.4 * median


def test_the_same_brand_and_size_sells_at_widely_different_prices(
    records: list[dict[str, Any]],
) -> None:
    groups: dict[tuple[str, ...], list[float]] = {}
    for r in records:
        if r["price"] is not None:
            size_key, size = list(r["details"].items())[1]  # Brand, then the size attribute
            key = (r["main_category"], r["details"]["Brand"], size_key, size)
            groups.setdefault(key, []).append(r["price"])
    alike = [prices for prices in groups.values() if len(prices) > 1]
    assert len(alike) >= 100
    assert sum(max(p) >= 2 * min(p) for p in alike) >= len(alike) / 3


def test_baselines_land_in_the_course_range() -> None:
    train = load_items("sample", split="train").items
    test = load_items("sample", split="test").items[:250]
    metrics = {
        name: evaluate(test, make_baseline(name, train), model=name, workers=1).metrics
        for name in ("baseline:regression", "baseline:mean", "baseline:random")
    }
    regression = metrics.pop("baseline:regression")
    assert 60 <= regression.average_error <= 110
    assert 25 <= regression.hit_rate_pct <= 50
    for name, worse in metrics.items():
        assert worse.average_error > regression.average_error, name
        assert worse.hit_rate_pct < regression.hit_rate_pct, name


def test_a_few_train_records_have_no_price(records: list[dict[str, Any]]) -> None:
    missing = Counter(r["split"] for r in records if r["price"] is None)
    assert 0 < missing["train"] <= len(records) // 50
    assert missing["test"] == 0


def test_titles_are_unique(records: list[dict[str, Any]]) -> None:
    titles = [r["title"] for r in records]
    assert len(set(titles)) == len(titles)


def test_generator_reproduces_the_shipped_bytes(tmp_path: Path) -> None:
    out = tmp_path / "sample.jsonl.gz"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True)
    assert out.read_bytes() == SAMPLE.read_bytes()
