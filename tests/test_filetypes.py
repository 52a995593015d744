"""Uploads are checked by content: pickles always refused, and the name must match the bytes."""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile

import pandas as pd
import pytest

from ftkit.errors import SourceError
from ftkit.filetypes import check_upload, sniff


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", "title,price\nx,1\n")
    return buffer.getvalue()


def parquet() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"title": ["x"], "price": [1.0]}).to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (pickle.dumps([1], protocol=2), "pickle"),
        (pickle.dumps([1], protocol=5), "pickle"),
        (zipped(), "zip"),
        (gzip.compress(b"title,price\n"), "gzip"),
        (parquet(), "parquet"),
        ("title,price\n".encode("utf-16"), "binary"),
        (b"title,price\nx,1\n", "text"),
        ("título,precio\n".encode(), "text"),
    ],
)
def test_sniff_names_what_the_bytes_are(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("items.csv", b"title,price\nx,1\n"),
        ("items.jsonl", b'{"title": "x", "price": 1}\n'),
        ("items.jsonl.gz", gzip.compress(b'{"title": "x", "price": 1}\n')),
        ("items.parquet", parquet()),
    ],
)
def test_matching_uploads_pass(name: str, data: bytes) -> None:
    check_upload(data, name)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("train.pkl", b"anything", "train.pkl: pickles cannot be uploaded, because loading one"),
        ("train.csv", pickle.dumps([1]), "train.csv: pickles cannot be uploaded"),
        ("a.csv", zipped(), "a.csv: the name says plain text, but the content is a zip archive"),
        ("a.jsonl", gzip.compress(b"{}"), "the content is gzip-compressed; name it with .gz"),
        ("a.csv", parquet(), "the content is a Parquet file; name it .parquet"),
        ("a.parquet", b"title,price\n", "the name says a Parquet file, but the content is plain"),
        ("a.csv", "t,p\n".encode("utf-16"), "binary data, not text; save it as UTF-8 text"),
        ("a.csv", b"  \n", "a.csv: the file is empty"),
    ],
)
def test_mismatched_uploads_are_refused_in_one_line(name: str, data: bytes, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        check_upload(data, name)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
