"""The pure parts behind the journey: the picked example, highlighted cells, readable charts."""

from __future__ import annotations

import pandas as pd
import pytest

from ftkit.dataset.charts import band_split_chart, category_chart, token_histogram
from ftkit.dataset.sampling import Split
from ftkit.dataset.stats import band_counts, histogram
from ftkit.dataset.table import HIT_STYLE, LEAK_STYLE, cell_styles, chosen_example, leak_rows
from ftkit.items import Item


@pytest.mark.parametrize(
    ("selected", "current", "expected"),
    [
        ([], None, 10),  # nothing picked yet: the first listed row
        ([2], None, 30),  # a clicked row (its position in the list) wins
        ([2], 20, 30),
        ([], 20, 20),  # the row picked earlier, still listed
        ([], 99, 10),  # picked earlier but filtered out
        ([7], 20, 20),  # a stale position beyond the list is ignored
    ],
    ids=["first", "clicked", "clicked-over-kept", "kept", "filtered-out", "stale-click"],
)
def test_the_example_shown_in_full(selected: list[int], current: int | None, expected: int) -> None:
    assert chosen_example([10, 20, 30], selected, current) == expected


def frame(users: list[str], answers: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "system": ["Estimate prices."] * len(users),
            "user": users,
            "assistant": answers,
            "price": [1.0] * len(users),
        }
    )


def test_a_user_message_holding_the_price_is_a_leak() -> None:
    table = frame(["A lamp", "A lamp for $24.99", "Costs 24.99 or so"], ["Price is $24.99"] * 3)
    assert leak_rows(table).tolist() == [False, True, True]


def test_search_hits_and_leaks_are_styled_per_cell() -> None:
    table = frame(["A Sony lamp", "A desk for $80.00"], ["Price is $24.99", "Price is $80.00"])
    styles = cell_styles(table, "sony")
    assert styles.at[0, "user"] == HIT_STYLE
    assert styles.at[0, "assistant"] == "" and styles.at[0, "price"] == ""
    assert styles.at[1, "user"] == LEAK_STYLE
    assert (cell_styles(table, "  ").loc[0] == "").all()  # no search, no hits


def test_the_token_axis_starts_at_the_shortest_example_not_zero() -> None:
    spec = token_histogram(histogram([180, 200, 260], bins=10)).to_dict()
    scale = spec["encoding"]["x"]["scale"]
    assert scale["domain"][0] == 180 and scale["domain"][1] >= 260


def item(price: float) -> Item:
    return Item("Thing", price, "Tools", "Text", f"Thing\n\nPrice is ${price:.2f}")


def test_the_split_legend_sits_under_the_chart_with_full_labels() -> None:
    spec = band_split_chart(band_counts(Split([item(5)], [item(700)]))).to_dict()
    legend = spec["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["labelLimit"] == 0


def test_category_labels_are_not_cut() -> None:
    name = "Appliances > Small Kitchen Appliances > Coffee, Tea & Espresso"
    spec = category_chart([(name, 3)]).to_dict()
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == 0
