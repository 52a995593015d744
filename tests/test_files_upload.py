"""Uploading against the fake server: streaming, reuse, the Uploads API, faults and refusals."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import openai
import pytest

from ftkit.errors import ApiError, UploadError, WaitTimeoutError
from ftkit.providers import ProviderSettings, client_from_settings
from ftkit.training.files import list_files, upload_file, wait_for_file
from ftkit.training.large_files import FileWindow, upload_in_parts
from ftkit.training.upload_cache import recall
from tests.fake_openai import KEY, FakeOpenAI, shared_fake


def _no_sleep(_: float) -> None:
    pass


@pytest.fixture
def fake() -> FakeOpenAI:
    return shared_fake()


@pytest.fixture
def settings(fake: FakeOpenAI) -> ProviderSettings:
    return ProviderSettings(api_key=KEY, base_url=fake.url)


@pytest.fixture
def client(settings: ProviderSettings) -> openai.OpenAI:
    return client_from_settings(settings, timeout=0.8, max_retries=0)


def write_examples(path: Path, count: int = 20, *, bad: bool = False) -> Path:
    lines = []
    for i in range(count):
        messages = [
            {"role": "system", "content": "You estimate prices of items."},
            {"role": "user", "content": f"How much does item {i} cost?"},
            {"role": "assistant", "content": f"Price is ${i}.00"},
        ]
        if bad and i == 3:
            messages = messages[:2]  # no assistant reply
        lines.append(json.dumps({"messages": messages}))
    path.write_text("\n".join(lines) + "\n")
    return path


def upload(client: openai.OpenAI, settings: ProviderSettings, path: Path, **kw: object):
    kw.setdefault("sleep", _no_sleep)
    return upload_file(
        client, path, endpoint=settings.endpoint, store=path.parent / "uploads.json", **kw
    )  # type: ignore[arg-type]


def test_upload_streams_the_file_and_returns_the_lectures_file_object(
    fake, client, settings, tmp_path
):
    path = write_examples(tmp_path / "train.jsonl")
    result = upload(client, settings, path)
    assert {k: result.file[k] for k in ("bytes", "filename", "purpose", "status")} == {
        "bytes": path.stat().st_size,
        "filename": "train.jsonl",
        "purpose": "fine-tune",
        "status": "processed",
    }
    assert fake.state.contents[result.file["id"]] == path.read_bytes()
    assert not result.reused


def test_same_content_reuses_the_file_id_unless_fresh(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "train.jsonl")
    first = upload(client, settings, path)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(path.read_bytes())
    again = upload(client, settings, copy)
    assert again.reused and again.file["id"] == first.file["id"]
    assert len(fake.calls("POST", "/files")) == 1
    fresh = upload(client, settings, path, fresh=True)
    assert not fresh.reused and fresh.file["id"] != first.file["id"]


def test_other_content_of_the_same_size_is_uploaded_not_reused(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "train.jsonl")
    first = upload(client, settings, path)
    data = bytearray(path.read_bytes())
    data[data.index(b"Price is $") + 10] ^= 1  # one digit changes; the size does not
    other = tmp_path / "other.jsonl"
    other.write_bytes(bytes(data))
    second = upload(client, settings, other)
    assert not second.reused and second.file["id"] != first.file["id"]
    assert fake.state.contents[second.file["id"]] == bytes(data)


def test_a_remembered_file_deleted_on_the_endpoint_is_uploaded_again(
    fake, client, settings, tmp_path
):
    path = write_examples(tmp_path / "train.jsonl")
    first = upload(client, settings, path)
    client.files.delete(first.file["id"])
    second = upload(client, settings, path)
    assert not second.reused and second.file["id"] != first.file["id"]


def test_a_file_failing_the_check_is_refused_unless_overridden(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "bad.jsonl", bad=True)
    with pytest.raises(
        UploadError, match=r"bad.jsonl: not uploaded.*line 4.*fix the file or upload it anyway"
    ):
        upload(client, settings, path)
    assert fake.calls("POST", "/files") == []
    assert upload(client, settings, path, override=True).file["status"] == "processed"


def test_uploads_api_sends_parts_and_completes_with_the_md5(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "big.jsonl", count=60)
    seen: list[tuple[int, int]] = []
    result = upload(
        client,
        settings,
        path,
        uploads_threshold=1000,
        part_size=700,
        on_progress=lambda s, t: seen.append((s, t)),
    )
    size = path.stat().st_size
    (upload_id,) = fake.state.uploads
    assert len(fake.calls("POST", f"/uploads/{upload_id}/parts")) == -(-size // 700)
    complete = next(r for r in fake.requests if r.path.endswith("/complete"))
    assert complete.body["md5"] == hashlib.md5(path.read_bytes()).hexdigest()
    assert fake.state.contents[result.file["id"]] == path.read_bytes()
    assert seen[-1] == (size, size)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)


def test_a_failed_part_is_sent_again(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "big.jsonl", count=40)
    fake.inject("POST", "/uploads/*/parts", "500", times=2)
    fake.inject("POST", "/uploads/*/parts", "drop", times=1)
    result = upload(client, settings, path, uploads_threshold=1000, part_size=1000)
    assert fake.state.contents[result.file["id"]] == path.read_bytes()


def test_a_part_that_keeps_failing_cancels_the_upload_and_records_nothing(
    fake, client, settings, tmp_path
):
    path = write_examples(tmp_path / "big.jsonl", count=40)
    before = path.read_bytes()
    fake.inject("POST", "/uploads/*/parts", "500", times=1000)
    with pytest.raises(UploadError, match="the upload was cancelled"):
        upload(client, settings, path, uploads_threshold=1000, part_size=1000)
    fake.faults.clear()
    (upload_state,) = fake.state.uploads.values()
    assert upload_state["status"] == "cancelled"
    assert path.read_bytes() == before
    assert (
        recall(
            settings.endpoint,
            "fine-tune",
            f"md5:{hashlib.md5(before).hexdigest()}:{len(before)}",
            store=tmp_path / "uploads.json",
        )
        is None
    )
    assert fake.state.files == {}


def test_a_lost_response_never_creates_a_second_file(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "train.jsonl")
    fake.inject("POST", "/files", "lost")
    result = upload(client, settings, path)
    assert len(fake.state.files) == 1
    assert result.file["id"] in fake.state.files


def test_a_lost_completion_finds_the_completed_file(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "big.jsonl", count=40)
    fake.inject("POST", "/uploads/*/complete", "lost")
    result = upload_in_parts(
        client,
        path,
        md5=hashlib.md5(path.read_bytes()).hexdigest(),
        part_size=1000,
        sleep=_no_sleep,
    )
    assert result.id in fake.state.files and len(fake.state.files) == 1
    assert len([r for r in fake.requests if r.path.endswith("/complete")]) == 1


def test_a_drop_mid_upload_leaves_nothing_recorded_and_the_file_intact(
    fake, client, settings, tmp_path
):
    path = write_examples(tmp_path / "train.jsonl")
    before = path.read_bytes()
    fake.inject("POST", "/files", "drop", times=10)
    with pytest.raises(ApiError, match="cannot reach the endpoint"):
        upload(client, settings, path)
    assert path.read_bytes() == before
    assert not (tmp_path / "uploads.json").exists()
    assert fake.state.files == {}


def test_rate_limits_are_retried_after_the_servers_wait(fake, client, settings, tmp_path):
    """A creating call is retried by ftkit (SDK retries off), honouring Retry-After-Ms."""
    path = write_examples(tmp_path / "train.jsonl")
    waits: list[float] = []
    fake.inject("POST", "/files", "429", times=2)
    result = upload(client, settings, path, sleep=waits.append)
    assert result.file["status"] == "processed"
    assert waits == [0.01, 0.01]  # Retry-After-Ms: 10
    assert len(fake.state.files) == 1


def test_a_rejected_file_is_an_error_and_not_remembered(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "train.jsonl")
    fake.file_status = "error"
    with pytest.raises(UploadError, match=r"rejected the file.*Invalid file format"):
        upload(client, settings, path)
    assert not (tmp_path / "uploads.json").exists()


def test_waiting_for_processing_is_bounded(fake, client, settings, tmp_path):
    path = write_examples(tmp_path / "train.jsonl")
    fake.process_after = 10**6
    result = upload(client, settings, path, wait=False)
    assert result.file["status"] == "uploaded"
    now = [0.0]
    with pytest.raises(WaitTimeoutError, match="still processing after 5 s"):
        wait_for_file(
            client,
            result.file["id"],
            timeout=5,
            interval=1,
            sleep=lambda s: now.__setitem__(0, now[0] + s),
            clock=lambda: now[0],
        )


def test_a_wrong_key_is_one_line_with_the_request_id_and_no_key(fake, settings, tmp_path):
    wrong = "sk-wrong-key-abcdefghijklmnopqrstuvwxyz"
    client = client_from_settings(ProviderSettings(api_key=wrong, base_url=fake.url))
    path = write_examples(tmp_path / "train.jsonl")
    with pytest.raises(ApiError) as info:
        upload(client, settings, path)
    message = str(info.value)
    assert "authentication failed (401)" in message and "request id req_" in message
    assert wrong not in message and "\n" not in message


def test_files_over_8_gb_and_empty_files_are_refused(client, settings, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(UploadError, match="empty"):
        upload(client, settings, empty)
    huge = tmp_path / "huge.jsonl"
    with open(huge, "wb") as handle:
        handle.truncate(8 * 2**30 + 1)
    with pytest.raises(UploadError, match="over the 8 GB upload limit"):
        upload(client, settings, huge)


def test_the_sdk_retries_reads_after_429_and_500(fake, settings, tmp_path):
    client = client_from_settings(settings, max_retries=3)
    fake.inject("GET", "/files", "429", times=1)
    fake.inject("GET", "/files", "500", times=1)
    assert list_files(client) == []
    assert len(fake.calls("GET", "/files")) == 3


def test_list_files_shows_uploaded_files_newest_first(fake, client, settings, tmp_path):
    a = upload(client, settings, write_examples(tmp_path / "a.jsonl", 12))
    b = upload(client, settings, write_examples(tmp_path / "b.jsonl", 13))
    assert [f["id"] for f in list_files(client)] == [b.file["id"], a.file["id"]]


def test_file_window_reads_only_its_range_and_seeks_within_it(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(100)))
    fd = os.open(path, os.O_RDONLY)
    try:
        window = FileWindow(fd, 10, 20, None)
        assert window.seek(0, io.SEEK_END) == 20 and window.tell() == 20
        window.seek(0)
        assert window.read(5) == bytes(range(10, 15))
        assert window.read() == bytes(range(15, 30))
        assert window.read(1) == b""
        with pytest.raises(OSError):
            window.fileno()
    finally:
        os.close(fd)
