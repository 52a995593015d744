"""OpenAI's fine-tuning API behind the trainer interface, against the loopback fake server."""

from __future__ import annotations

import openai
import pytest

from ftkit.errors import ApiError, ProviderError
from ftkit.providers import ProviderSettings, client_from_settings
from ftkit.training.backends import BACKENDS, open_trainer
from ftkit.training.jobs import Wandb
from ftkit.training.monitor import follow_job
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.trainer import TrainRequest
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


def _request(fake: FakeOpenAI, **fields: object) -> TrainRequest:
    train = str(fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"])
    return TrainRequest(training_file=train, **fields)  # type: ignore[arg-type]


def test_start_sends_the_request_as_the_lectures_job(fake, trainer) -> None:
    request = _request(fake, epochs=3, batch_size=4, learning_rate=0.5, seed=7, suffix="p")
    job = trainer.start(request, run_id="run-9")
    (sent,) = fake.calls("POST", "/fine_tuning/jobs")
    assert sent.body["model"] == "gpt-4o-mini-2024-07-18"
    assert sent.body["method"]["supervised"]["hyperparameters"] == {
        "n_epochs": 3,
        "batch_size": 4,
        "learning_rate_multiplier": 0.5,
    }
    assert (sent.body["seed"], sent.body["suffix"]) == (7, "p")
    assert job["metadata"] == {"ftkit_run_id": "run-9"}
    assert trainer.backend == "openai"


def test_start_twice_with_one_run_id_after_a_lost_reply_creates_one_job(fake, trainer) -> None:
    fake.inject("POST", "/fine_tuning/jobs", "lost")
    job = trainer.start(_request(fake), run_id="once")
    assert list(fake.state.jobs) == [job["id"]]


def test_wandb_and_metadata_ride_with_the_trainer(fake, client) -> None:
    trainer = OpenAITrainer(client, fake.url, wandb=Wandb("prices"), metadata={"team": "a"})
    trainer.start(_request(fake), run_id="r")
    (sent,) = fake.calls("POST", "/fine_tuning/jobs")
    assert sent.body["integrations"] == [{"type": "wandb", "wandb": {"project": "prices"}}]
    assert sent.body["metadata"] == {"team": "a", "ftkit_run_id": "r"}


def test_a_base_model_names_the_model_to_fine_tune(fake, trainer) -> None:
    job = trainer.start(_request(fake, base_model="gpt-4.1-nano-2025-04-14"))
    assert job["model"] == "gpt-4.1-nano-2025-04-14"


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"max_steps": 20}, "OpenAI does not take --max-steps; set --epochs instead"),
        ({"lora_r": 8}, "OpenAI does not take --lora-r or --lora-alpha"),
        ({"lora_alpha": 64}, "OpenAI does not take --lora-r or --lora-alpha"),
        ({"qlora": True}, "OpenAI does not take --qlora"),
        ({"out": "runs/a"}, "OpenAI does not take --out"),
        ({"merge": True}, "OpenAI does not take --merge"),
    ],
    ids=["max-steps", "lora-r", "lora-alpha", "qlora", "out", "merge"],
)
def test_fields_openai_chooses_itself_are_refused_before_any_request(
    fake, trainer, fields, line
) -> None:
    with pytest.raises(ProviderError, match=line) as refused:
        trainer.start(_request(fake, **fields))
    assert "\n" not in str(refused.value)
    assert fake.calls("POST", "/fine_tuning/jobs") == []


def test_a_finished_job_has_events_checkpoints_and_metrics_per_step(fake, trainer) -> None:
    started = trainer.start(_request(fake))
    job, _ = follow_job(trainer, started["id"], interval=0, sleep=lambda _: None)
    assert job["status"] == "succeeded" and job["fine_tuned_model"].startswith("ft:")
    assert trainer.retrieve(job["id"])["fine_tuned_model"] == job["fine_tuned_model"]
    events = trainer.events(job["id"], limit=100)
    stamps = [e["created_at"] for e in events]
    assert stamps == sorted(stamps, reverse=True)
    (point,) = trainer.checkpoints(job["id"])
    assert point["step_number"] == 3
    rows = trainer.metrics(job["id"])
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert all("train_loss" in row for row in rows)
    assert "full_valid_loss" in rows[-1]


def test_metrics_keep_the_curve_when_checkpoints_cannot_be_listed(fake, trainer) -> None:
    started = trainer.start(_request(fake))
    job, _ = follow_job(trainer, started["id"], interval=0, sleep=lambda _: None)
    fake.inject("GET", f"/fine_tuning/jobs/{job['id']}/checkpoints", "500")
    assert [row["step"] for row in trainer.metrics(job["id"])] == [1, 2, 3]


def test_cancel_stops_a_job_and_resume_continues_a_paused_one(fake, client, trainer) -> None:
    first = trainer.start(_request(fake))
    assert trainer.cancel(first["id"])["status"] == "cancelled"
    second = trainer.start(_request(fake))
    fake.state.jobs[second["id"]]["status"] = "paused"
    assert trainer.resume(second["id"])["status"] == "running"


def test_resuming_a_cancelled_job_is_one_line_from_the_api(fake, trainer) -> None:
    job = trainer.start(_request(fake))
    trainer.cancel(job["id"])
    with pytest.raises(ApiError, match="cannot resume a job that is cancelled") as refused:
        trainer.resume(job["id"])
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("backend", ["openai", "azure", "compatible"])
def test_each_openai_backend_opens_the_same_trainer(client, backend) -> None:
    trainer = open_trainer(backend, client=client, endpoint="https://example.test/v1")
    assert isinstance(trainer, OpenAITrainer)
    assert (trainer.backend, trainer.endpoint) == (backend, "https://example.test/v1")


@pytest.mark.parametrize(
    ("backend", "line"),
    [("openai", "backend openai: no client"), ("nowhere", "not one of openai, azure")],
    ids=["no-client", "unknown"],
)
def test_a_backend_that_cannot_open_is_one_line(backend, line) -> None:
    with pytest.raises(ProviderError, match=line):
        open_trainer(backend)


def test_the_backends_are_the_three_openai_kinds_and_local() -> None:
    assert BACKENDS == ("openai", "azure", "compatible", "together", "fireworks", "local")
