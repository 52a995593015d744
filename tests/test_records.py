"""Reading tables within limits: a gzip bomb stops at the decompressed cap, rows are capped."""

from __future__ import annotations

import gzip
import io
import tracemalloc

import pandas as pd
import pytest

from ftkit.errors import SourceError
from ftkit.hosting import HostingConfig
from ftkit.sources.load import load_items_from_bytes
from ftkit.sources.tables import (
    DEFAULT_MAX_CELLS,
    DEFAULT_READ_LIMITS,
    ReadLimits,
    inflate,
    read_records,
)


def gz(data: bytes) -> bytes:
    """Return ``data`` gzipped with no timestamp, so parametrized ids match on every worker."""
    return gzip.compress(data, mtime=0)


MB = 1024 * 1024
BOMB = gz(b"title,price\n" + b"a,1\n" * 5_000_000)  # 20 MB of rows in ~20 KB


def rows_csv(count: int) -> bytes:
    return ("title,price\n" + "".join(f"Lamp {n},{n + 1}\n" for n in range(count))).encode()


def test_a_gzip_bomb_stops_at_the_cap_without_inflating_the_rest() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as info:
            inflate(BOMB, "bomb.csv.gz", 2 * MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(info.value) == "bomb.csv.gz: decompresses to more than the limit of 2.0 MB of data"
    assert peak < 8 * MB


def test_an_uploaded_bomb_is_one_line_naming_the_file_and_the_limit() -> None:
    limits = ReadLimits(max_bytes=1 * MB, max_rows=None)
    with pytest.raises(SourceError) as info:
        load_items_from_bytes(BOMB, "items.csv.gz", max_bytes=len(BOMB), limits=limits)
    assert str(info.value) == "items.csv.gz: decompresses to more than the limit of 1.0 MB of data"


def test_a_plain_file_over_the_cap_is_refused() -> None:
    data = rows_csv(2_000)
    with pytest.raises(SourceError, match=r"items.csv: holds more than the limit of 0.0 MB"):
        read_records(data, "items.csv", limits=ReadLimits(max_bytes=len(data) - 1))
    assert len(read_records(data, "items.csv", limits=ReadLimits(max_bytes=len(data)))) == 2_000


def parquet(count: int) -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"title": [f"Lamp {n}" for n in range(count)], "price": [2.5] * count}).to_parquet(
        buffer
    )
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("items.csv", rows_csv(11)),
        ("items.csv.gz", gz(rows_csv(11))),
        ("items.jsonl", b'{"title": "Lamp", "price": 2}\n' * 11),
        ("items.json", b"[" + b",".join([b'{"title": "Lamp", "price": 2}'] * 11) + b"]"),
        ("items.parquet", parquet(11)),
    ],
)
def test_too_many_rows_are_refused_in_every_format(name: str, data: bytes) -> None:
    with pytest.raises(SourceError) as info:
        read_records(data, name, limits=ReadLimits(max_rows=10))
    assert str(info.value) == f"{name}: has more than the limit of 10 rows"
    assert len(read_records(data, name, limits=ReadLimits(max_rows=11))) == 11


def test_hosting_settings_give_the_limits() -> None:
    section = {"max_upload_mb": 5, "max_decompressed_mb": 50, "max_rows": 1000}
    config = HostingConfig.from_mapping({"ftkit": section}, env={})
    assert config.max_upload_bytes == 5 * MB
    assert config.read_limits == ReadLimits(50 * MB, 1000, DEFAULT_MAX_CELLS)
    defaults = HostingConfig.from_mapping({}, env={}).read_limits
    assert defaults.max_bytes is not None and defaults.max_rows is not None


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("max_rows", "many", "ftkit.max_rows: expected a whole number of rows"),
        ("max_rows", 0, "ftkit.max_rows: expected 0 < rows"),
        ("max_rows", True, "ftkit.max_rows: expected a whole number of rows"),
        ("max_decompressed_mb", -1, "ftkit.max_decompressed_mb: expected 0 < megabytes"),
    ],
)
def test_bad_limit_settings_are_one_line(setting: str, value: object, message: str) -> None:
    from ftkit.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        HostingConfig.from_mapping({"ftkit": {setting: value}}, env={})


def empty_cells_csv(rows: int, columns: int) -> bytes:
    """Return a CSV of empty cells: a few bytes a row that grow many times over in memory."""
    header = ",".join(f"c{n}" for n in range(columns))
    return (header + "\n" + ("," * (columns - 1) + "\n") * rows).encode()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("cells.csv", empty_cells_csv(101, 10)),
        ("cells.csv.gz", gz(empty_cells_csv(101, 10))),
        ("cells.tsv", empty_cells_csv(101, 10).replace(b",", b"\t")),
        ("cells.jsonl", b'{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":0}\n' * 101),
        ("cells.parquet", pd.DataFrame({f"c{n}": [1] * 101 for n in range(10)}).to_parquet()),
    ],
)
def test_more_cells_than_the_limit_are_refused_before_they_fill_memory(
    name: str, data: bytes
) -> None:
    with pytest.raises(SourceError) as info:
        read_records(data, name, limits=ReadLimits(max_cells=1_000))
    assert str(info.value) == f"{name}: has more than the limit of 1,000 cells (rows × columns)"
    assert len(read_records(data, name, limits=ReadLimits(max_cells=1_010))) == 101


def test_a_json_document_with_more_values_than_the_limit_is_refused_unparsed() -> None:
    data = b"[" + b",".join([b"{}"] * 1_001) + b"]"
    with pytest.raises(SourceError, match=r"items.json: has more than the limit of 1,000 values"):
        read_records(data, "items.json", limits=ReadLimits(max_cells=1_000))
    assert len(read_records(data, "items.json", limits=ReadLimits(max_cells=1_001))) == 1_001


def test_a_table_wider_than_the_column_limit_is_refused() -> None:
    with pytest.raises(SourceError, match=r"wide.csv: has more than the limit of 1,000 columns"):
        read_records(empty_cells_csv(1, 1_001), "wide.csv", limits=ReadLimits())
    assert read_records(empty_cells_csv(1, 1_000), "wide.csv", limits=ReadLimits())


def test_hosted_and_default_limits_bound_the_cells() -> None:
    hosted = HostingConfig.from_mapping({"ftkit": {}}, env={"FTKIT_HOSTED": "1"}).read_limits
    assert hosted.max_cells is not None and DEFAULT_READ_LIMITS.max_cells is not None
    wide = empty_cells_csv(hosted.max_cells // 100 + 1, 100)  # a few MB on disk
    assert len(wide) < hosted.max_bytes // 10  # type: ignore[operator]
    with pytest.raises(SourceError, match="cells"):
        read_records(wide, "wide.csv", limits=hosted)
