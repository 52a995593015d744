"""The dashboard's pure parts: stats and histograms, the messages table, previews and charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftkit.dataset.charts import band_split_chart, category_chart, price_histogram, token_histogram
from ftkit.dataset.messages import Templates, render_messages
from ftkit.dataset.prepare import write_split
from ftkit.dataset.preview import count_lines, head_lines, jsonl_bytes
from ftkit.dataset.sampling import Split, split_items
from ftkit.dataset.stats import BAND_ORDER, band_counts, histogram, summarize_items
from ftkit.dataset.table import example_tokens, filter_table, messages_table, render_column
from ftkit.items import Item
from ftkit.preflight.scan import check_file
from ftkit.preflight.tokens import count_example, get_tokenizer
from ftkit.sources.load import load_items


def item(price: float, category: str = "Tools", title: str = "Thing") -> Item:
    question = "How much does this cost to the nearest dollar?"
    prompt = f"{question}\n\n{title}\nText\n\nPrice is ${price:.0f}.00"
    return Item(title, price, category, "Text", prompt)


@pytest.fixture(scope="module")
def split() -> Split:
    return split_items(load_items("sample").items, train=40, validation=10)


def test_summary_counts_prices_and_categories() -> None:
    items = [item(1), item(3, "Toys"), item(10), item(20, "")]
    summary = summarize_items(items)
    assert (summary.count, summary.price_min, summary.price_median, summary.price_max) == (
        4,
        1,
        6.5,
        20,
    )
    assert summary.categories == (("Tools", 2), ("Toys", 1), ("(none)", 1))
    assert summarize_items([]).count == 0


@pytest.mark.parametrize(
    ("values", "bins", "log", "counts"),
    [
        ([1, 2, 3, 4], 3, False, [1, 1, 2]),  # the last bin includes the maximum
        ([5, 5, 5], 10, False, [3]),
        ([1, 10, 100, 1000], 3, True, [1, 1, 2]),
        ([0, -1, 10], 2, True, [1]),  # non-positive values left out of a log histogram
        ([], 5, False, []),
    ],
)
def test_histogram(values: list[float], bins: int, log: bool, counts: list[int]) -> None:
    result = histogram(values, bins=bins, log=log)
    assert [b.count for b in result] == counts
    assert all(b.start <= b.end for b in result)


def test_band_counts_cover_every_band_for_both_splits() -> None:
    rows = band_counts(Split([item(5), item(30), item(30)], [item(700)]))
    assert [r[0] for r in rows] == list(BAND_ORDER) * 2
    train = {band: (n, share) for band, name, n, share in rows if name == "train"}
    assert train["$25–50"] == (2, pytest.approx(2 / 3))
    assert ("$500+", "validation", 1, 1.0) in rows


def test_token_counts_match_the_preflight_recipe(split: Split) -> None:
    tok = get_tokenizer("o200k_base")
    templates = Templates()
    items = [*split.train, *split.validation]
    users = render_column(items, templates, "user")
    answers = render_column(items, templates, "assistant")
    roles = {role: tok.count(role) for role in ("system", "user", "assistant")}
    tokens = example_tokens(
        tok.count(templates.system), tok.count_batch(users), tok.count_batch(answers), roles
    )
    expected = [count_example(render_messages(i, templates), tok)[0] for i in items]
    assert tokens == expected


def test_the_table_and_its_filters(split: Split) -> None:
    items = [*split.train, *split.validation]
    users = render_column(items, Templates(), "user")
    answers = render_column(items, Templates(), "assistant")
    table = messages_table(split, "S", users, answers, list(range(50)))
    assert list(table["example"][:2]) == [1, 2] and list(table["example"][40:42]) == [1, 2]
    assert list(table["split"]).count("validation") == 10
    title = split.validation[0].title
    assert list(filter_table(table, query=title.upper())["user"]) == [users[40]]
    assert len(filter_table(table, splits=["validation"])) == 10
    some_band = table["band"].iloc[0]
    assert set(filter_table(table, bands=[some_band])["band"]) == {some_band}
    assert len(filter_table(table, query="   ")) == 50


def test_preview_bytes_equal_the_written_file_which_passes_the_check(
    tmp_path: Path, split: Split
) -> None:
    templates = Templates(system="Estimate.")
    train_path, validation_path = write_split(split, tmp_path, templates)
    assert jsonl_bytes(split.train, templates) == train_path.read_bytes()
    assert validation_path is not None
    assert jsonl_bytes(split.validation, templates) == validation_path.read_bytes()
    assert count_lines(train_path) == 40
    assert len(head_lines(train_path, 3)) == 3
    assert check_file(train_path, validation_path=validation_path).ok


def test_charts_carry_aggregates_not_raw_points() -> None:
    prices = [float(p) for p in range(1, 400_001)]
    chart = price_histogram(histogram(prices, log=True))
    spec = chart.to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 30 and sum(r["count"] for r in rows) == 400_000
    assert spec["encoding"]["x"]["scale"]["type"] == "log"
    layered = token_histogram(histogram([10, 20, 70_000]), limit=65_536).to_dict()
    assert len(layered["layer"]) == 2  # bars and the limit rule
    assert "layer" not in token_histogram(histogram([10, 20]), limit=65_536).to_dict()
    bands = band_split_chart(band_counts(Split([item(5)], [item(700)]))).to_dict()
    assert bands["encoding"]["xOffset"]["field"] == "split"
    assert category_chart((("A", 3), ("B", 1))).to_dict()["mark"]["type"] == "bar"


def test_histogram_bars_stand_on_zero() -> None:
    from ftkit.dataset.charts import price_histogram, token_histogram
    from ftkit.dataset.stats import histogram

    bins = histogram([1.0, 5.0, 20.0, 90.0, 400.0], log=True)
    for chart in (price_histogram(bins), token_histogram(histogram([10, 20, 30]))):
        encoding = chart.to_dict()["encoding"]
        assert encoding["y2"] == {"datum": 0}, "x/x2 bars without a y baseline draw as ticks"
