"""A lost upload response never makes a second file, whatever the server's clock says (issue 12)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import openai
import pytest

from ftkit.providers import ProviderSettings, client_from_settings
from ftkit.training.files import UploadResult, upload_file
from ftkit.training.jobs import JobSpec, create_job
from ftkit.training.large_files import upload_in_parts
from ftkit.training.lost_uploads import MAX_CLOCK_SKEW
from tests.fake_openai import KEY, FakeOpenAI, shared_fake
from tests.test_files_upload import write_examples

DAY = 86_400


def _no_sleep(_: float) -> None:
    pass


@pytest.fixture
def fake() -> FakeOpenAI:
    return shared_fake()


@pytest.fixture
def client(fake: FakeOpenAI) -> openai.OpenAI:
    settings = ProviderSettings(api_key=KEY, base_url=fake.url)
    return client_from_settings(settings, timeout=0.8, max_retries=0)


def upload(client: openai.OpenAI, fake: FakeOpenAI, path: Path) -> UploadResult:
    store = path.parent / "uploads.json"
    return upload_file(client, path, endpoint=fake.url, store=store, sleep=_no_sleep)


def same_size_other_content(path: Path) -> bytes:
    """Return the file's bytes with one digit changed: same name, same size, other content."""
    data = path.read_bytes()
    index = data.index(b"$1.00")
    return data[: index + 1] + b"2" + data[index + 2 :]


def add_earlier(fake: FakeOpenAI, name: str, data: bytes, age: int) -> str:
    """Put a file on the server as if uploaded ``age`` seconds ago; return its id."""
    md5 = hashlib.md5(data).hexdigest()
    obj = fake.add_file(name, "fine-tune", data, len(data), md5)
    obj["created_at"] -= age
    obj["status"] = "processed"
    return str(obj["id"])


@pytest.mark.parametrize("skew", [-2, -5, -120, -(MAX_CLOCK_SKEW - 10)])
def test_a_lost_response_from_a_server_whose_clock_is_behind_makes_one_file(
    fake: FakeOpenAI, client: openai.OpenAI, tmp_path: Path, skew: int
) -> None:
    fake.clock_skew = skew
    path = write_examples(tmp_path / "train.jsonl")
    fake.inject("POST", "/files", "lost")
    result = upload(client, fake, path)
    assert list(fake.state.files) == [result.file["id"]]
    assert not result.reused


@pytest.mark.parametrize("allow_content", [False, True], ids=["no-download", "download"])
def test_a_lost_response_with_a_clock_far_behind_is_found_by_content_or_window(
    fake: FakeOpenAI, client: openai.OpenAI, tmp_path: Path, allow_content: bool
) -> None:
    fake.allow_content = allow_content
    fake.clock_skew = -3 * DAY if allow_content else -(MAX_CLOCK_SKEW - 1)
    path = write_examples(tmp_path / "train.jsonl")
    fake.inject("POST", "/files", "lost")
    result = upload(client, fake, path)
    assert list(fake.state.files) == [result.file["id"]]


@pytest.mark.parametrize("allow_content", [False, True], ids=["no-download", "download"])
def test_an_old_file_with_the_same_name_and_size_is_never_taken_for_the_lost_one(
    fake: FakeOpenAI, client: openai.OpenAI, tmp_path: Path, allow_content: bool
) -> None:
    fake.allow_content = allow_content
    path = write_examples(tmp_path / "train.jsonl")
    old = add_earlier(fake, "train.jsonl", same_size_other_content(path), age=DAY)
    fake.inject("POST", "/files", "drop")  # the server never saw the request
    result = upload(client, fake, path)
    assert result.file["id"] != old and len(fake.state.files) == 2
    assert len(fake.calls("POST", "/files")) == 1


def test_a_recent_file_whose_content_differs_is_not_taken(
    fake: FakeOpenAI, client: openai.OpenAI, tmp_path: Path
) -> None:
    fake.allow_content = True
    path = write_examples(tmp_path / "train.jsonl")
    other = add_earlier(fake, "train.jsonl", same_size_other_content(path), age=5)
    fake.inject("POST", "/files", "drop")
    result = upload(client, fake, path)
    assert result.file["id"] != other and len(fake.state.files) == 2


def test_an_old_file_with_the_same_content_is_taken_when_it_can_be_compared(
    fake: FakeOpenAI, client: openai.OpenAI, tmp_path: Path
) -> None:
    fake.allow_content = True
    path = write_examples(tmp_path / "train.jsonl")
    same = add_earlier(fake, "train.jsonl", path.read_bytes(), age=DAY)
    fake.inject("POST", "/files", "drop")
    result = upload(client, fake, path)
    assert result.file["id"] == same and len(fake.state.files) == 1


def test_a_remembered_upload_of_other_content_is_never_taken(
    fake: FakeOpenAI, client: openai.OpenAI, tmp_path: Path
) -> None:
    path = write_examples(tmp_path / "train.jsonl")
    first = upload(client, fake, path)
    path.write_bytes(same_size_other_content(path))  # edited, same size, seconds later
    fake.inject("POST", "/files", "drop")
    second = upload(client, fake, path)
    assert second.file["id"] != first.file["id"] and len(fake.state.files) == 2


def test_a_lost_completion_from_a_server_whose_clock_is_behind_makes_one_file(
    fake: FakeOpenAI, client: openai.OpenAI, tmp_path: Path
) -> None:
    fake.clock_skew = -30
    path = write_examples(tmp_path / "big.jsonl", count=40)
    fake.inject("POST", "/uploads/*/complete", "lost")
    result = upload_in_parts(
        client,
        path,
        md5=hashlib.md5(path.read_bytes()).hexdigest(),
        part_size=1000,
        sleep=_no_sleep,
    )
    assert list(fake.state.files) == [result.id]
    assert len([r for r in fake.requests if r.path.endswith("/complete")]) == 1


@pytest.mark.parametrize("skew", [-2, -120, -(MAX_CLOCK_SKEW - 10)])
def test_a_lost_job_creation_from_a_server_whose_clock_is_behind_makes_one_job(
    fake: FakeOpenAI, client: openai.OpenAI, skew: int
) -> None:
    fake.clock_skew = skew
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    fake.inject("POST", "/fine_tuning/jobs", "lost")
    job = create_job(client, JobSpec(training_file=train), sleep=_no_sleep)
    assert list(fake.state.jobs) == [job["id"]]
