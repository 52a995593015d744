"""The Data page: the sample on first open, uploads (and refusals), the local path box, mapping."""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from apptest_support import APP, assert_clean, course_pickle, errors, metrics, open_app
from streamlit.testing.v1 import AppTest

from ftkit.ui import state


@pytest.fixture(autouse=True)
def local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)


def csv_bytes(rows: int = 40) -> bytes:
    frame = pd.DataFrame(
        {
            "title": [f"Widget {n}" for n in range(rows)],
            "description": [f"A sturdy widget, number {n}, made of steel." for n in range(rows)],
            "price": [10 + n for n in range(rows)],
            "sale_price": [5 + n / 2 for n in range(rows)],
            "category": ["Tools" if n % 2 else "Garden" for n in range(rows)],
        }
    )
    return frame.to_csv(index=False).encode()


def test_first_open_shows_the_built_in_sample() -> None:
    at = open_app()
    assert_clean(at)
    shown = metrics(at)
    assert shown["Items"] == "1,086"
    assert shown["Rows read"] == "1,100"
    assert shown["Dropped"] == "14"
    assert at.subheader[0].value == "built-in sample"
    assert at.session_state[state.DATASET_HASH] is not None
    assert len(at.get("vega_lite_chart")) == 2  # price histogram and categories


def test_an_uploaded_csv_becomes_the_dataset() -> None:
    at = open_app()
    at.file_uploader(key="data_upload").set_value(("widgets.csv", csv_bytes(), "text/csv")).run()
    assert_clean(at)
    assert at.subheader[0].value == "widgets.csv"
    assert metrics(at)["Items"] == "40"
    assert at.session_state[state.DATASET_KIND] == "upload"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("train.pkl", pickle.dumps([1, 2, 3]), "pickles cannot be uploaded, because loading one"),
        ("data.csv", pickle.dumps({"a": 1}), "pickles cannot be uploaded"),
        ("data.csv", None, "is really a zip archive, not a csv file"),
        ("data.parquet", b"title,price\nx,1\n", "is not a Parquet file"),
        ("data.csv", b"", "data.csv: is empty"),
        ("data.jsonl", b'{"title": "x", "price": 1}\nnot json\n', "line 2 is not valid JSON"),
        ("data.csv", b"name,colour\nx,red\n", "no price column"),
    ],
)
def test_a_bad_upload_shows_one_error_line_and_no_traceback(
    name: str, data: bytes | None, expected: str
) -> None:
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("inner.csv", csv_bytes())
        data = buffer.getvalue()
    at = open_app()
    at.file_uploader(key="data_upload").set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception
    assert len(errors(at)) == 1
    message = errors(at)[0]
    assert expected in message and name in message
    assert "\n" not in message and "Traceback" not in message
    assert at.subheader[0].value == "built-in sample"  # the previous dataset stays


def test_a_course_pickle_loads_from_a_local_path(tmp_path: Path) -> None:
    source = course_pickle(tmp_path / "train.pkl", 60)
    at = open_app()
    at.text_input(key="data_path").input(str(source))
    at.button[0].click().run()
    assert_clean(at)
    assert metrics(at)["Items"] == "60"
    assert at.subheader[0].value == str(source)
    assert at.session_state[state.DATASET_SOURCE] == str(source)


def test_a_malicious_pickle_path_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(pd.DataFrame({"a": [1]})))
    at = open_app()
    at.text_input(key="data_path").input(str(evil))
    at.button[0].click().run()
    assert not at.exception
    assert len(errors(at)) == 1 and "refused to load" in errors(at)[0]


def test_a_missing_path_is_one_error_line(tmp_path: Path) -> None:
    at = open_app()
    at.text_input(key="data_path").input(str(tmp_path / "nope.pkl"))
    at.button[0].click().run()
    assert errors(at) == [f"{tmp_path / 'nope.pkl'}: no such file"]


def test_hosted_mode_has_no_path_box(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(state.HOSTED_ENV, "1")
    at = open_app()
    assert_clean(at)
    assert not [w for w in at.text_input if w.key == "data_path"]
    assert any("Local paths are off" in c.value for c in at.caption)


def test_the_column_mapping_can_be_changed() -> None:
    at = open_app()
    at.file_uploader(key="data_upload").set_value(("widgets.csv", csv_bytes(), "text/csv")).run()
    assert metrics(at)["Median price"] == "$29.50"  # price: 10..49
    at.selectbox[0].select("sale_price")  # the mapping form's first field: Price
    at.button[-1].click().run()  # Apply mapping
    assert_clean(at)
    assert metrics(at)["Median price"] == "$14.75"  # sale_price: 5..24.5


def test_use_the_sample_again_after_an_upload() -> None:
    at = open_app()
    at.file_uploader(key="data_upload").set_value(("widgets.csv", csv_bytes(), "text/csv")).run()
    at.file_uploader(key="data_upload").set_value(None)
    at.button(key="data_use_sample").click().run()
    assert_clean(at)
    assert metrics(at)["Items"] == "1,086"


def everyday_csv(price_header: str = "Cost (USD)", prices: list[str] | None = None) -> bytes:
    prices = prices or [f"${n + 10}.00" for n in range(30)]
    rows = [
        f'Lamp {n},"A 5.5-inch, 12-megapixel lamp, model {n}","{p}"' for n, p in enumerate(prices)
    ]
    return (f"Product Name,Blurb Text,{price_header}\n" + "\n".join(rows) + "\n").encode()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="data_upload").set_value((name, data, "text/csv"))
    return at.run()


def test_everyday_headers_are_detected_and_the_mapping_is_shown() -> None:
    at = upload(open_app(), "shop.csv", everyday_csv())
    assert_clean(at)
    assert metrics(at)["Items"] == "30"
    shown = [c.value for c in at.caption]
    assert any(
        "Columns: price 'Cost (USD)', title 'Product Name', text 'Blurb Text'" in c for c in shown
    )
    assert any("part-number scrub off" in c for c in shown)


def test_a_file_whose_price_was_not_found_can_be_mapped_from_its_headers() -> None:
    at = upload(open_app(), "shop.csv", everyday_csv(price_header="Preis"))
    assert not at.exception
    assert len(errors(at)) == 1 and "shop.csv: no price column" in errors(at)[0]
    assert at.subheader[0].value == "built-in sample"  # still in use meanwhile
    price = at.selectbox[0]
    assert price.label == "Price" and price.value is None
    assert price.options == ["Product Name", "Blurb Text", "Preis"]  # the file's own headers
    assert at.selectbox[1].value == "Product Name"  # what was found is filled in
    price.select("Preis")
    next(b for b in at.button if b.label == "Apply mapping").click().run()  # the file's form
    assert_clean(at)
    assert at.subheader[0].value == "shop.csv"
    assert metrics(at)["Items"] == "30"


def test_when_no_row_survives_the_error_counts_the_drops_by_reason() -> None:
    prices = ["€12,50"] * 20 + ["45,00"] * 8 + [""] * 2
    at = upload(open_app(), "shop.csv", everyday_csv(prices=prices))
    assert not at.exception
    assert errors(at)[0].startswith(
        "shop.csv: no usable rows, all 30 were dropped (20 price in another currency; "
        "8 ambiguous decimal comma in price; 2 no price)"
    )
    assert len(errors(at)) == 1 and at.subheader[0].value == "built-in sample"


def test_the_scrub_is_a_visible_option_on_the_mapping() -> None:
    at = upload(open_app(), "shop.csv", everyday_csv())
    assert at.checkbox[0].label == "Remove part numbers" and not at.checkbox[0].value
    at.checkbox[0].check()
    at.button[-1].click().run()  # Apply mapping
    assert_clean(at)
    assert any("part-number scrub on" in c.value for c in at.caption)


def test_an_upload_over_the_decompressed_limit_is_one_line() -> None:
    bomb = gzip.compress(b"title,price\n" + b"a,1\n" * 1_000_000)  # 4 MB of rows
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["ftkit"] = {"max_decompressed_mb": 1, "max_rows": 100}
    at.run()
    upload(at, "bomb.csv.gz", bomb)
    assert errors(at) == ["bomb.csv.gz: decompresses to more than the limit of 1.0 MB of data"]
    upload(at, "many.csv", b"title,price\n" + b"a,1\n" * 101)
    assert errors(at) == ["many.csv: has more than the limit of 100 rows"]


def test_hosted_uploads_list_no_pickles_and_no_message_suggests_local_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(state.HOSTED_ENV, "1")
    at = open_app()
    uploader = at.file_uploader(key="data_upload")
    assert not {"pkl", "pickle", ".pkl", ".pickle"} & set(uploader.allowed_type)
    at = upload(at, "train.csv", pickle.dumps([1, 2]))
    shown = [uploader.help, *errors(at), *(c.value for c in at.caption)]
    assert "pickles cannot be uploaded" in errors(at)[0]
    assert not [text for text in shown if "local path" in text.lower() and "off" not in text]


def test_a_mapping_that_still_gives_no_items_shows_one_new_error_and_keeps_the_file() -> None:
    at = upload(open_app(), "shop.csv", everyday_csv(price_header="Preis"))
    at.selectbox[0].select("Blurb Text")  # not a price
    next(b for b in at.button if b.label == "Apply mapping").click().run()
    assert not at.exception
    assert len(errors(at)) == 1
    assert errors(at)[0].startswith("shop.csv: no usable rows, all 30 were dropped (30 unparseable")
    at.selectbox[0].select("Preis")
    next(b for b in at.button if b.label == "Apply mapping").click().run()
    assert_clean(at)
    assert at.subheader[0].value == "shop.csv"
