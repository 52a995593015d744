"""One start-job function: it records the run, creates the job once and records the outcome.

The dashboard's Train page and ``python -m ftkit finetune`` both start jobs through
``ftkit.training.launch``; the last tests drive each front end and read the same records back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import openai
import pytest
from apptest_support import on_page

import ftkit.history as history
from ftkit.cli import main
from ftkit.errors import ApiError, FineTuningClosedError
from ftkit.history import HistoryStore, Run, list_runs, open_store
from ftkit.history.recorder import store_recorder
from ftkit.providers import SETTING_NAMES, ProviderSettings, client_from_settings
from ftkit.training.launch import record_finished, start_job, upload_recorded
from ftkit.training.monitor import follow_job, job_metrics
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.trainer import TrainRequest
from ftkit.ui import state
from tests.fake_openai import KEY, FakeOpenAI, shared_fake
from tests.test_files_upload import write_examples

T = TypeVar("T")


@pytest.fixture
def fake() -> FakeOpenAI:
    return shared_fake()


@pytest.fixture
def client(fake: FakeOpenAI) -> openai.OpenAI:
    return client_from_settings(ProviderSettings(api_key=KEY, base_url=fake.url), max_retries=0)


@pytest.fixture
def trainer(fake: FakeOpenAI, client: openai.OpenAI) -> OpenAITrainer:
    return OpenAITrainer(client, fake.url)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("FTKIT_DATABASE_URL", url)
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield url
    history.close_all()


@pytest.fixture
def store(db: str) -> HistoryStore:
    return open_store(db)


def _uploaded(fake: FakeOpenAI) -> str:
    return str(fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"])


def _not_recorded(record: Callable[[HistoryStore | None, str], T], /) -> T | None:
    """A recorder whose history cannot be written, as the page's is on a database error."""
    return None


def test_a_created_job_is_recorded_running_with_its_id(fake, trainer, store) -> None:
    spec = TrainRequest(training_file=_uploaded(fake), epochs=2)
    started = start_job(trainer, spec, record=store_recorder(store, "ana"))
    (run,) = list_runs("finetune", store=store)
    assert started.run_id == run.id and run.user == "ana"
    assert run.status == "running"
    assert run.outputs["job_id"] == started.job["id"]
    assert run.outputs["job_status"] == "validating_files"
    assert run.settings["hyperparameters"]["n_epochs"] == 2
    (created,) = fake.calls("POST", "/fine_tuning/jobs")
    assert created.body["metadata"] == {"ftkit_run_id": str(run.id)}


def test_a_refused_job_is_recorded_failed_with_the_reason(fake, trainer, store) -> None:
    fake.closed = True
    spec = TrainRequest(training_file=_uploaded(fake))
    with pytest.raises(FineTuningClosedError) as refused:
        start_job(trainer, spec, record=store_recorder(store, "ana"))
    (run,) = list_runs("finetune", store=store)
    assert run.status == "failed"
    assert run.outputs == {"error": str(refused.value)}
    assert "job_id" not in run.outputs


def test_a_lost_response_still_creates_and_records_one_job(fake, trainer, store) -> None:
    fake.inject("POST", "/fine_tuning/jobs", "lost")
    spec = TrainRequest(training_file=_uploaded(fake))
    started = start_job(trainer, spec, record=store_recorder(store, "ana"))
    assert list(fake.state.jobs) == [started.job["id"]]
    (run,) = list_runs("finetune", store=store)
    assert run.outputs["job_id"] == started.job["id"]


def test_a_spec_with_problems_records_nothing_and_sends_nothing(fake, trainer, store) -> None:
    spec = TrainRequest(training_file=" ", epochs=99)
    with pytest.raises(ApiError, match="training file: an uploaded file id is required"):
        start_job(trainer, spec, record=store_recorder(store, "ana"))
    assert list_runs(store=store) == []
    assert fake.calls("POST", "/fine_tuning/jobs") == []


@pytest.mark.parametrize("record", [None, _not_recorded], ids=["no-history", "history-down"])
def test_without_a_history_the_job_is_still_created(fake, trainer, store, record) -> None:
    started = start_job(trainer, TrainRequest(training_file=_uploaded(fake)), record=record)
    assert started.run_id is None
    assert fake.state.jobs[started.job["id"]]["metadata"]["ftkit_run_id"]  # a key all the same
    assert list_runs(store=store) == []


def test_an_explicit_run_id_is_the_idempotency_key(fake, trainer, store) -> None:
    spec = TrainRequest(training_file=_uploaded(fake))
    record = store_recorder(store, "ana")
    started = start_job(trainer, spec, record=record, run_id="mine-1")
    assert started.job["metadata"] == {"ftkit_run_id": "mine-1"}
    assert list_runs(store=store)[0].outputs["ftkit_run_id"] == "mine-1"


@pytest.mark.parametrize("by_id", [True, False], ids=["run-id", "linked-by-metadata"])
def test_a_finished_job_records_its_model_tokens_and_metrics(fake, trainer, store, by_id) -> None:
    record = store_recorder(store, "ana")
    started = start_job(trainer, TrainRequest(training_file=_uploaded(fake)), record=record)
    job, events = follow_job(trainer, started.job["id"], interval=0, sleep=lambda _: None)
    metrics = job_metrics(trainer, job["id"], events)
    run_id = started.run_id if by_id else None
    record_finished(job, metrics=metrics, record=record, run_id=run_id)
    (run,) = list_runs("finetune", store=store)
    assert run.status == "succeeded"
    assert run.outputs["fine_tuned_model"] == job["fine_tuned_model"]
    assert run.outputs["trained_tokens"] == 12345
    assert run.outputs["metrics"]["step"] == 3.0


def test_a_job_still_running_records_no_end(fake, trainer, store) -> None:
    record = store_recorder(store, "ana")
    started = start_job(trainer, TrainRequest(training_file=_uploaded(fake)), record=record)
    record_finished(started.job, metrics=[], record=record, run_id=started.run_id)
    assert list_runs("finetune", store=store)[0].status == "running"


def test_an_upload_is_recorded_with_its_file_id(fake, client, store, tmp_path) -> None:
    path = write_examples(tmp_path / "train.jsonl")
    result = upload_recorded(client, path, endpoint=fake.url, record=store_recorder(store, "ana"))
    (run,) = list_runs("upload", store=store)
    assert run.outputs["file_id"] == result.file["id"]
    assert run.settings["base_url"] == fake.url


# ---- both front ends start jobs through start_job: the same records come back --------------


def _start_on_page(fake: FakeOpenAI, train: str) -> None:
    at = on_page("train", timeout=30)
    at.session_state["openai_api_key"] = KEY
    at.session_state["openai_base_url"] = fake.url
    file = {"id": train, "bytes": 2, "filename": "t.jsonl", "purpose": "fine-tune"}
    at.session_state["upload_files"] = {"training": {**file, "status": "processed"}}
    at.run()
    at.button(key="FormSubmitter:upload_job_form-Create job").click().run()
    assert not at.exception


def _start_in_cli(fake: FakeOpenAI, train: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    main(["finetune", "--training-file", train])


def _start(front: str, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Run:
    train = _uploaded(fake)
    if front == "page":
        _start_on_page(fake, train)
    else:
        _start_in_cli(fake, train, monkeypatch)
    (run,) = list_runs("finetune")
    assert run.settings["training_file"] == train and run.user == "ana@example.com"
    return run


@pytest.mark.parametrize("front", ["page", "cli"])
def test_each_front_end_records_one_run_with_the_job_id(fake, db, monkeypatch, front) -> None:
    run = _start(front, fake, monkeypatch)
    (job_id,) = fake.state.jobs
    assert run.status == "running" and run.outputs["job_id"] == job_id
    assert fake.state.jobs[job_id]["metadata"] == {"ftkit_run_id": str(run.id)}


@pytest.mark.parametrize("front", ["page", "cli"])
def test_each_front_end_records_a_refusal_as_failed(fake, db, monkeypatch, front) -> None:
    fake.closed = True
    run = _start(front, fake, monkeypatch)
    assert run.status == "failed"
    assert "2027-01-06" in run.outputs["error"] and "wind-down" in run.outputs["error"]
    assert not fake.state.jobs
