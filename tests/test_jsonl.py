from __future__ import annotations

import contextlib
import hashlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftkit.dataset.jsonl import read_jsonl, write_encoded, write_jsonl
from ftkit.errors import OutputError


def test_round_trip_is_strict_utf8_with_newlines(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": f"café № {i}"}]} for i in range(2000)]
    path = tmp_path / "out.jsonl"
    assert write_jsonl(path, rows) == 2000
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\n")
    lines = data.decode("utf-8").split("\n")[:-1]
    assert [json.loads(line) for line in lines] == rows
    assert read_jsonl(path) == rows


def test_nan_is_refused_and_previous_file_survives(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"a": 1}])
    with pytest.raises(OutputError):
        write_jsonl(path, [{"a": 2}, {"a": float("nan")}])
    assert read_jsonl(path) == [{"a": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_crash_mid_write_leaves_no_partial_file(tmp_path: Path) -> None:
    def rows() -> Iterator[dict[str, int]]:
        for i in range(5000):
            if i == 4000:
                raise RuntimeError("boom")
            yield {"i": i}

    path = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        write_jsonl(path, rows())
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write there"):
        write_jsonl(blocker / "out.jsonl", [{"a": 1}])


@contextlib.contextmanager
def _files_limited_to(size: int) -> Iterator[None]:
    """Make writes past ``size`` bytes of a file fail (EFBIG), as a full disk would (ENOSPC)."""
    resource = pytest.importorskip("resource")
    if not hasattr(signal, "SIGXFSZ"):
        pytest.skip("needs a POSIX file size limit")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, limits[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)


@pytest.mark.parametrize("limit", [100, 3 << 20], ids=["first-write", "mid-file"])
def test_full_disk_keeps_the_previous_file(tmp_path: Path, limit: int) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"a": 1}])
    with _files_limited_to(limit), pytest.raises(OutputError, match="File too large"):
        write_jsonl(path, [{"a": 2, "pad": "x" * 100}] * 100_000)
    assert read_jsonl(path) == [{"a": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_the_digest_is_the_written_files_sha256(tmp_path: Path) -> None:
    rows = [{"line": i, "text": "é" * (i % 300)} for i in range(20_000)]
    digest = hashlib.sha256()
    path = tmp_path / "out.jsonl"
    write_jsonl(path, rows, digest=digest)
    assert digest.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_jsonl(path) == rows


class _FailingDigest:
    """A digest that fails on its third block, as hashing a file on a failing device might."""

    def __init__(self) -> None:
        self.blocks = 0

    def update(self, data: bytes, /) -> None:
        self.blocks += 1
        if self.blocks == 3:
            raise OSError(5, "Input/output error")

    def hexdigest(self) -> str:
        return ""


def test_a_failing_digest_fails_the_write_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"a": 1}])
    with pytest.raises(OutputError, match="Input/output error"):
        write_jsonl(path, [{"a": 2}] * 10_000, digest=_FailingDigest())
    assert read_jsonl(path) == [{"a": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_encoded_chunks_are_written_in_order(tmp_path: Path) -> None:
    chunks = [f"{i}\n".encode() * (i % 7) for i in range(3000)]
    path = tmp_path / "out.jsonl"
    write_encoded(path, iter(chunks))
    assert path.read_bytes() == b"".join(chunks)


def test_replacing_a_file_still_open_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"a": 1}] * 100)
    with path.open("rb") as reader:  # a reader of the old file keeps reading the old file
        write_jsonl(path, [{"b": 2}])
        assert reader.read().count(b"\n") == 100
    assert read_jsonl(path) == [{"b": 2}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs FIFOs")
def test_replacing_a_fifo_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    import os

    path = tmp_path / "out.jsonl"
    os.mkfifo(path)
    write_jsonl(path, [{"a": 1}])  # would hang if the old FIFO were opened blocking
    assert path.is_file() and read_jsonl(path) == [{"a": 1}]
