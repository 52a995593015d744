"""Watching a job: one look at it, following it to the end, and the monitor's tables."""

from __future__ import annotations

import openai
import pytest

from ftkit.providers import ProviderSettings, client_from_settings
from ftkit.training.jobs import JobSpec, create_job
from ftkit.training.monitor import (
    checkpoint_rows,
    event_rows,
    follow_job,
    format_time,
    job_metrics,
    view_job,
)
from ftkit.training.openai_trainer import OpenAITrainer
from tests.fake_openai import KEY, FakeOpenAI, shared_fake


@pytest.fixture
def fake() -> FakeOpenAI:
    return shared_fake()


@pytest.fixture
def client(fake: FakeOpenAI) -> openai.OpenAI:
    return client_from_settings(ProviderSettings(api_key=KEY, base_url=fake.url), max_retries=0)


@pytest.fixture
def trainer(fake: FakeOpenAI, client: openai.OpenAI) -> OpenAITrainer:
    return OpenAITrainer(client, fake.url)


def _job(fake: FakeOpenAI, client: openai.OpenAI) -> str:
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    return create_job(client, JobSpec(training_file=train))["id"]


def test_a_finished_job_is_shown_with_its_checkpoint_and_metrics(fake, client, trainer) -> None:
    job_id = _job(fake, client)
    for _ in range(5):
        view = view_job(trainer, job_id)
    assert view.job["status"] == "succeeded"
    assert [row["step"] for row in view.metrics] == [1, 2, 3]
    (point,) = checkpoint_rows(view.checkpoints)
    assert point["step"] == 3 and point["checkpoint model"].endswith(":ckpt-step-3")
    assert point["full_valid_loss"] == pytest.approx(0.8, abs=1e-3)


def test_following_a_job_reports_each_event_once_oldest_first(fake, client, trainer) -> None:
    job_id = _job(fake, client)
    shown: list[tuple[str, str]] = []
    job, events = follow_job(
        trainer,
        job_id,
        interval=0,
        sleep=lambda _: None,
        on_event=lambda j, e: shown.append((j["status"], e["message"])),
    )
    assert job["status"] == "succeeded"
    messages = [message for _, message in shown]
    assert len(messages) == len(set(messages)) == len(events)
    steps = [m for m in messages if m.startswith("Step ")]
    assert steps == sorted(steps) and len(steps) == 3


def test_metrics_survive_checkpoints_that_cannot_be_listed(fake, client, trainer) -> None:
    job_id = _job(fake, client)
    _, events = follow_job(trainer, job_id, interval=0, sleep=lambda _: None)
    fake.inject("GET", f"/fine_tuning/jobs/{job_id}/checkpoints", "500")
    rows = job_metrics(trainer, job_id, events)
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert "full_valid_loss" not in rows[-1]
    assert "full_valid_loss" in job_metrics(trainer, job_id, events)[-1]


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [(None, "-"), (0, "-"), (1_767_225_600, "2026-01-01 00:00 UTC")],
    ids=["none", "zero", "new-year-2026"],
)
def test_times_are_shown_in_utc(stamp: int | None, shown: str) -> None:
    assert format_time(stamp) == shown


def test_events_become_rows_of_time_level_and_message(fake, client, trainer) -> None:
    job_id = _job(fake, client)
    (row, *_) = event_rows(view_job(trainer, job_id).events)
    assert set(row) == {"time", "level", "message"} and row["time"].endswith(" UTC")
