"""Small datasets: the split sizes are fitted to the file together, with a notice, on every page."""

from __future__ import annotations

import pandas as pd
import pytest
from apptest_support import assert_clean, goto, metrics, open_app
from streamlit.testing.v1 import AppTest

from ftkit.dataset.sampling import fit_sizes, held_out_share
from ftkit.ui import state

PAGES = ("compose", "messages", "check", "export")


@pytest.fixture(autouse=True)
def local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)


def csv_bytes(rows: int) -> bytes:
    frame = pd.DataFrame(
        {
            "title": [f"Lamp {n}" for n in range(rows)],
            "description": [
                f"A brass desk lamp, model {n}, with a linen shade." for n in range(rows)
            ],
            "price": [12 + 3 * n for n in range(rows)],
        }
    )
    return frame.to_csv(index=False).encode()


def upload(rows: int) -> AppTest:
    at = open_app()
    at.file_uploader(key="data_upload").set_value((f"{rows}.csv", csv_bytes(rows), "text/csv"))
    at.run()
    assert_clean(at)
    return at


@pytest.mark.parametrize(
    ("train", "validation", "available", "fitted"),
    [
        (500, 50, 1_000, (500, 50)),  # fits: unchanged
        (500, 50, 550, (500, 50)),
        (500, 50, 50, (36, 4)),  # 10 held out; validation keeps its share of the rest
        (500, 0, 50, (40, 0)),
        (40, 20, 50, (27, 13)),
        (500, 50, 10, (7, 1)),  # 2 held out
        (500, 50, 9, (7, 1)),  # one held out
        (500, 50, 2, (1, 1)),  # still one of each
        (500, 50, 1, (1, 0)),  # train needs the only item
        (5, 5, 3, (1, 1)),
    ],
)
def test_sizes_are_fitted_together(
    train: int, validation: int, available: int, fitted: tuple[int, int]
) -> None:
    assert fit_sizes(train, validation, available) == fitted
    assert sum(fitted) <= available and fitted[0] >= 1
    if train + validation > available:  # a fitted split leaves a fifth for the test
        assert available - sum(fitted) == held_out_share(available)


@pytest.mark.parametrize("first", PAGES)
def test_every_page_works_after_loading_a_50_item_file(first: str) -> None:
    at = upload(50)
    goto(at, first)
    assert_clean(at)
    assert any("The dataset holds 50 items" in i.value for i in at.info)  # where it happened
    for page in PAGES:
        goto(at, page)
        assert_clean(at)
    assert (at.session_state[state.TRAIN_SIZE], at.session_state[state.VALIDATION_SIZE]) == (36, 4)
    goto(at, "compose")
    assert metrics(at)["Train"] == "36" and metrics(at)["Validation"] == "4"
    notice = "The dataset holds 50 items, fewer than 500 train + 50 validation: using 36 train + 4"
    assert any(notice in i.value for i in at.info)


def test_reset_to_the_lectures_defaults_fits_the_sizes_too() -> None:
    at = upload(50)
    goto(at, "compose")
    at.number_input(key="compose_train").set_value(10).run()
    at.button(key="compose_reset").click().run()
    assert_clean(at)
    assert metrics(at)["Train"] == "36" and metrics(at)["Validation"] == "4"
    assert at.number_input(key="compose_train").value == 36
    assert any("using 36 train + 4 validation" in i.value for i in at.info)


def test_raising_one_size_lowers_the_other_with_a_notice() -> None:
    at = upload(50)
    goto(at, "compose")
    at.number_input(key="compose_train").set_value(48).run()
    assert_clean(at)
    assert metrics(at)["Train"] == "48" and metrics(at)["Validation"] == "2"
    assert any("Lowered validation from 4 to 2" in i.value for i in at.info)
    at.number_input(key="compose_validation").set_value(20).run()
    assert metrics(at)["Train"] == "30" and metrics(at)["Validation"] == "20"
    assert any("Lowered train from 48 to 30" in i.value for i in at.info)


@pytest.mark.parametrize("rows", [1, 2])
def test_a_one_or_two_item_file_is_one_clear_line_never_an_exception(rows: int) -> None:
    at = upload(rows)
    for page in PAGES:
        goto(at, page)
        assert not at.exception, (page, [e.message for e in at.exception])
        assert len(at.error) <= 1, (page, [e.value for e in at.error])
    goto(at, "check")
    [error] = [e.value for e in at.error]
    assert error == "1 errors: fix them before uploading."
    issues = at.dataframe[0].value
    assert "at least 10 needed" in " ".join(issues["problem"])


def test_the_notice_goes_when_another_dataset_is_loaded() -> None:
    at = upload(50)
    goto(at, "compose")
    assert any("The dataset holds 50 items" in i.value for i in at.info)
    goto(at, "data")
    at.button(key="data_use_sample").click().run()
    goto(at, "compose")
    assert_clean(at)
    assert not any("The dataset holds" in i.value for i in at.info)


def test_a_50_item_file_leaves_items_for_evaluate_to_score() -> None:
    at = upload(50)
    goto(at, "evaluate")
    assert_clean(at)
    assert any("10 held-out items" in c.value for c in at.caption), [c.value for c in at.caption]
    at.button(key="evaluate_run").click().run()
    assert_clean(at)
    assert at.session_state["evaluate_runs"][-1]["requested"] == 10
