"""Uploads are checked by content, not only by name."""

from __future__ import annotations

import gzip
import io
import pickle
import tracemalloc
import zipfile

import pandas as pd
import pytest

from ftkit.errors import SourceError
from ftkit.items import Item
from ftkit.sources.sniff import sniff_upload
from ftkit.sources.tables import ReadLimits, read_records


def gz(data: bytes) -> bytes:
    """Return ``data`` gzipped with no timestamp, so parametrized ids match on every worker."""
    return gzip.compress(data, mtime=0)


CSV = b"title,price,details\nUSB cable,9.99,1 m braided\nDesk lamp,24.50,LED\n"
JSONL = b'{"title": "USB cable", "price": 9.99}\n{"title": "Lamp", "price": 24.5}\n'
LIMIT = 1_000_000


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("items.csv", date_time=(2026, 1, 1, 0, 0, 0)), CSV)
    return buffer.getvalue()


def _parquet() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"title": ["a"], "price": [1.0]}).to_parquet(buffer)
    return buffer.getvalue()


ITEM = Item(title="USB cable", price=9.99, category="Electronics", details="1 m")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (CSV, "items.csv"),
        (CSV.replace(b",", b"\t"), "items.tsv"),
        ("title,price\nCafé crème,3.5\n".encode(), "items.csv"),
        (b"\xef\xbb\xbf" + CSV, "items.csv"),
        (JSONL, "items.jsonl"),
        (JSONL, "items.ndjson"),
        (b'[{"title": "a", "price": 1}]', "items.json"),
        (gz(JSONL), "items.jsonl.gz"),
        (gz(CSV), "ITEMS.CSV.GZ"),
        (_parquet(), "items.parquet"),
    ],
)
def test_genuine_files_pass(data: bytes, name: str) -> None:
    sniff_upload(data, name, max_bytes=LIMIT)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (_zip(), "items.csv", "items.csv: is really a zip archive, not a csv file"),
        (pickle.dumps([ITEM]), "items.csv", "items.csv: pickles cannot be uploaded"),
        (pickle.dumps([{"a": 1}], protocol=0), "items.csv", "is really a Python pickle"),
        (pickle.dumps([{"a": 1}], protocol=1), "items.jsonl", "is really a Python pickle"),
        (pickle.dumps([ITEM]), "items.pkl", "items.pkl: pickles cannot be uploaded"),
        (gz(CSV), "items.csv", "items.csv: is really a gzip file, not a csv file"),
        (_parquet(), "items.csv", "items.csv: is really a Parquet file, not a csv file"),
        (_parquet(), "items.jsonl", "items.jsonl: is really a Parquet file"),
        (b'{"title": "a", "price": ', "items.json", "items.json: is not valid JSON"),
        (CSV, "items.json", "items.json: is not valid JSON"),
        (CSV, "items.jsonl", "items.jsonl: line 1 is not a JSON object"),
        (b"title,price\nab\x00cd,1\n", "items.csv", "holds binary data (NUL bytes)"),
        (CSV, "items.parquet", "items.parquet: is not a Parquet file"),
        (_zip(), "items.parquet", "is really a zip archive, not a Parquet file"),
        (CSV, "items.jsonl.gz", "items.jsonl.gz: is named .gz but is not gzip-compressed"),
        (gz(_zip()), "items.csv.gz", "is really a zip archive"),
        (gz(CSV)[:20], "items.csv.gz", "is a damaged gzip file"),
        (b"%PDF-1.7\n...", "items.csv", "is really a PDF"),
        (b"", "items.csv", "items.csv: is empty"),
        (CSV, "items.xlsx", "items.xlsx: unsupported file type '.xlsx'"),
        (CSV, "items", "unsupported file type"),
    ],
)
def test_mismatched_content_is_refused(data: bytes, name: str, message: str) -> None:
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sniff_upload(data, name, max_bytes=LIMIT)


def test_size_limit() -> None:
    sniff_upload(CSV, "items.csv", max_bytes=len(CSV))
    with pytest.raises(SourceError, match=r"items.csv: 0.0 MB is over the upload limit"):
        sniff_upload(CSV, "items.csv", max_bytes=len(CSV) - 1)


def test_a_large_json_upload_is_not_parsed_whole_by_the_sniff() -> None:
    """Five MB of ``{},`` would become about 150 MB of dicts: the bounded reader parses it."""
    data = b"[" + b"{}," * 1_700_000 + b"{}]"
    tracemalloc.start()
    try:
        sniff_upload(data, "objects.json", max_bytes=len(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20
    with pytest.raises(SourceError, match=r"objects\.json: has more than the limit of 1,000"):
        read_records(data, "objects.json", limits=ReadLimits(max_cells=1_000))
