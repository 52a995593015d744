from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftkit import jsonl
from ftkit.errors import OutputError
from ftkit.jsonl import FileSegment, read_jsonl, write_encoded, write_jsonl


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


def test_full_disk_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"a": 1}])
    import ftkit.jsonl as module

    monkeypatch.setattr(module._ChunkWriter, "_write", staticmethod(_raise_enospc))
    with pytest.raises(OutputError, match="No space left"):
        write_jsonl(path, [{"a": 2}] * 10)
    assert read_jsonl(path) == [{"a": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def _raise_enospc(fd: int, data: object) -> int:
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("hashed", [False, True])
def test_short_writes_and_many_small_chunks_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed: bool
) -> None:
    """The writer finishes a short ``writev`` and never passes too many buffers at once."""
    import hashlib
    import os

    import ftkit.jsonl as module

    calls: list[int] = []

    def short_writev(fd: int, buffers: list[bytes]) -> int:
        calls.append(len(buffers))
        assert len(buffers) <= module._ChunkWriter._MAX_CHUNKS
        return os.write(fd, bytes(memoryview(buffers[0])[:7]))  # at most 7 bytes a call

    monkeypatch.setattr(module._ChunkWriter, "_write", staticmethod(short_writev))
    chunks = [f"{i}\n".encode() for i in range(3000)]  # more chunks than one writev takes
    digest = hashlib.sha256() if hashed else None
    path = tmp_path / "out.jsonl"
    module.write_encoded(path, iter(chunks), digest=digest)
    expected = b"".join(chunks)
    assert path.read_bytes() == expected
    assert max(calls) == module._ChunkWriter._MAX_CHUNKS
    if digest is not None:
        assert digest.hexdigest() == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize("mappable", [True, False])
def test_the_hash_is_read_back_from_the_file_a_range_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mappable: bool
) -> None:
    """Ranges that end mid-page and mid-block still hash to the whole file's sha256."""
    import hashlib
    import mmap

    import ftkit.jsonl as module

    monkeypatch.setattr(module._ChunkWriter, "_BLOCK", 5000)
    monkeypatch.setattr(module._ChunkWriter, "_HASH_EVERY", 12_345)  # not a page multiple
    ranges: list[tuple[int, int]] = []
    real_hash_range = module._hash_range

    def hash_range(digest: module.Digest, fd: int, start: int, end: int) -> None:
        ranges.append((start, end))
        real_hash_range(digest, fd, start, end)

    monkeypatch.setattr(module, "_hash_range", hash_range)
    if not mappable:

        def refuse(*args: object, **kwargs: object) -> mmap.mmap:
            raise OSError("cannot map")

        monkeypatch.setattr(mmap, "mmap", refuse)
    chunks = [(f"line {i} " + "x" * (i % 97) + "\n").encode() for i in range(4000)]
    digest = hashlib.sha256()
    path = tmp_path / "out.jsonl"
    module.write_encoded(path, iter(chunks), digest=digest)
    expected = b"".join(chunks)
    assert path.read_bytes() == expected
    assert digest.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert len(ranges) > 3  # hashed as the file grew, not once at the end
    assert [start for start, _ in ranges[1:]] == [end for _, end in ranges[:-1]]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(expected)


def test_a_hashing_failure_fails_the_write_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    import ftkit.jsonl as module

    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"a": 1}])

    def fail(digest: module.Digest, fd: int, start: int, end: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(module, "_hash_range", fail)
    with pytest.raises(OutputError, match="Input/output error"):
        write_jsonl(path, [{"a": 2}] * 10, digest=hashlib.sha256())
    assert read_jsonl(path) == [{"a": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


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


def test_without_writev_the_buffers_are_joined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no ``os.writev``: the writer joins a block and writes it whole."""
    import ftkit.jsonl as module

    monkeypatch.setattr(module._ChunkWriter, "_write", staticmethod(module._write_joined))
    chunks = [f"{i}\n".encode() for i in range(2000)]
    path = tmp_path / "out.jsonl"
    module.write_encoded(path, iter(chunks))
    assert path.read_bytes() == b"".join(chunks)


def _segments_source(tmp_path: Path) -> tuple[int, bytes]:
    lines = b"".join(b'{"n":%d}\n' % n for n in range(50_000))
    source = tmp_path / "lines.bin"
    source.write_bytes(b"skipped" + lines)
    return os.open(source, os.O_RDONLY), lines


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "read-and-write"])
def test_file_segments_are_copied_in_order_and_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sendfile: bool
) -> None:
    if not sendfile:  # as on a system whose sendfile cannot copy between these files
        monkeypatch.setattr(jsonl, "_sendfile", _no_sendfile)
    fd, lines = _segments_source(tmp_path)
    try:
        half = len(lines) // 2
        chunks = [
            b'{"first":1}\n',
            FileSegment(fd, 7, half),
            FileSegment(fd, 7 + half, len(lines) - half),
        ]
        digest = hashlib.sha256()
        write_encoded(tmp_path / "out.jsonl", chunks, digest=digest)
    finally:
        os.close(fd)
    written = (tmp_path / "out.jsonl").read_bytes()
    assert written == b'{"first":1}\n' + lines
    assert digest.hexdigest() == hashlib.sha256(written).hexdigest()


def _no_sendfile(out_fd: int, in_fd: int, offset: int, count: int) -> int:
    raise OSError(errno.EINVAL, "not between these files")


def test_a_segment_past_the_end_of_its_file_fails_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old\n")
    fd, lines = _segments_source(tmp_path)
    try:
        with pytest.raises(OutputError, match=r"out\.jsonl"):
            write_encoded(target, [FileSegment(fd, 7, len(lines) + 100)])
    finally:
        os.close(fd)
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lines.bin", "out.jsonl"]
