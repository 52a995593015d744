"""The Data page: the sample on first open, uploads (and refusals), the local path box, mapping."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from apptest_support import assert_clean, course_pickle, errors, metrics, open_app

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
