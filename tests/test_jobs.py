"""Fine-tuning jobs against the fake server: parameters, lifecycle, idempotency, refusals."""

from __future__ import annotations

import time

import openai
import pytest

from ftkit.errors import ApiError, FineTuningClosedError, WaitTimeoutError
from ftkit.providers import ProviderSettings, client_from_settings
from ftkit.training.events import EventInfo, collect_metrics, list_checkpoints, list_events
from ftkit.training.jobs import (
    RUN_ID_KEY,
    JobSpec,
    Wandb,
    cancel_job,
    create_job,
    list_jobs,
    pause_job,
    resume_job,
    retrieve_job,
    wait_for_job,
)
from ftkit.training.shutdown import list_models
from tests.fake_openai import KEY, FakeOpenAI, shared_fake


def _no_sleep(_: float) -> None:
    pass


@pytest.fixture
def fake() -> FakeOpenAI:
    return shared_fake()


@pytest.fixture
def client(fake: FakeOpenAI) -> openai.OpenAI:
    return client_from_settings(
        ProviderSettings(api_key=KEY, base_url=fake.url), timeout=0.8, max_retries=0
    )


@pytest.fixture
def files(fake: FakeOpenAI) -> tuple[str, str]:
    train = fake.add_file("train.jsonl", "fine-tune", b"{}", 2, "x")
    val = fake.add_file("validation.jsonl", "fine-tune", b"{}", 2, "x")
    return train["id"], val["id"]


def test_create_sends_the_lectures_parameters_through_method(fake, client, files):
    spec = JobSpec(
        training_file=files[0],
        validation_file=files[1],
        wandb=Wandb("gpt-pricer", "me", ("lecture",)),
        metadata={"who": "test"},
    )
    job = create_job(client, spec, run_id="run-1")
    (request,) = fake.calls("POST", "/fine_tuning/jobs")
    assert request.body == {
        "model": "gpt-4o-mini-2024-07-18",
        "training_file": files[0],
        "validation_file": files[1],
        "seed": 42,
        "suffix": "pricer",
        "method": {
            "type": "supervised",
            "supervised": {
                "hyperparameters": {
                    "n_epochs": 1,
                    "batch_size": "auto",
                    "learning_rate_multiplier": "auto",
                }
            },
        },
        "integrations": [
            {
                "type": "wandb",
                "wandb": {"project": "gpt-pricer", "entity": "me", "tags": ["lecture"]},
            }
        ],
        "metadata": {"who": "test", RUN_ID_KEY: "run-1"},
    }
    assert "hyperparameters" not in request.body
    assert job["status"] == "validating_files" and job["seed"] == 42


def test_a_job_runs_to_success_with_events_metrics_and_checkpoints(fake, client, files):
    job = create_job(client, JobSpec(training_file=files[0], validation_file=files[1]))
    statuses: list[str] = []
    done = wait_for_job(
        client,
        job["id"],
        interval=0,
        sleep=_no_sleep,
        on_update=lambda j: statuses.append(j["status"]),
    )
    assert statuses == ["queued", "running", "running", "running", "succeeded"]
    assert done["fine_tuned_model"].startswith("ft:gpt-4o-mini-2024-07-18:ftkit-test:pricer:")
    assert done["trained_tokens"] == 12345
    events = list_events(client, job["id"])
    assert events[0]["message"] == "The job has successfully completed"  # newest first
    points = list_checkpoints(client, job["id"])
    assert points[0]["step_number"] == 3
    metrics = collect_metrics(events, points)
    assert [m["step"] for m in metrics] == [1, 2, 3]
    assert metrics[0]["train_loss"] == 2.0 and metrics[-1]["full_valid_loss"] > 0


def test_a_failed_job_carries_its_error_message_and_parameter(fake, client, files):
    fake.job_outcome = "failed"
    job = create_job(client, JobSpec(training_file=files[0]))
    done = wait_for_job(client, job["id"], interval=0, sleep=_no_sleep)
    assert done["status"] == "failed"
    assert done["error"] == {
        "code": "invalid_training_file",
        "param": "training_file",
        "message": "The job failed due to an invalid training file.",
    }


def test_cancel_pause_and_resume(fake, client, files):
    job = create_job(client, JobSpec(training_file=files[0]))
    retrieve_job(client, job["id"])
    retrieve_job(client, job["id"])  # running
    assert pause_job(client, job["id"])["status"] == "paused"
    assert resume_job(client, job["id"])["status"] == "running"
    assert cancel_job(client, job["id"])["status"] == "cancelled"
    with pytest.raises(ApiError, match=r"cannot resume a job that is cancelled.*request id"):
        resume_job(client, job["id"])
    assert [j["id"] for j in list_jobs(client)] == [job["id"]]


def test_403_on_creation_names_the_wind_down_and_the_ways_forward(fake, client, files):
    fake.closed = True
    with pytest.raises(FineTuningClosedError) as info:
        create_job(client, JobSpec(training_file=files[0]))
    message = str(info.value)
    for needle in (
        "403",
        "2026-05-07",
        "2026-07-02",
        "2027-01-06",
        "Azure OpenAI",
        "OPENAI_BASE_URL",
        "python -m ftkit export",
        "request id req_",
    ):
        assert needle in message
    assert "\n" not in message
    assert fake.state.jobs == {}


@pytest.mark.parametrize("kind", ["lost", "timeout", "drop", "500", "429"])
def test_a_retry_never_creates_a_second_job(fake, client, files, kind):
    fake.timeout_sleep = 1.2  # the server finishes the job 0.4 s after the client gave up
    fake.inject("POST", "/fine_tuning/jobs", kind)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if kind == "timeout":
            time.sleep(seconds)

    job = create_job(client, JobSpec(training_file=files[0]), sleep=sleep)
    assert len(fake.state.jobs) == 1
    assert job["id"] in fake.state.jobs


def test_a_retry_never_adopts_another_job_with_the_same_run_id(fake, client, files):
    # a history run id is a small number: another database's run 1 may own a job already
    other = create_job(client, JobSpec(training_file=files[1]), run_id="1")
    fake.inject("POST", "/fine_tuning/jobs", "500")
    job = create_job(client, JobSpec(training_file=files[0]), run_id="1", sleep=_no_sleep)
    assert job["id"] != other["id"] and job["training_file"] == files[0]
    assert len(fake.state.jobs) == 2


def test_invalid_specs_are_refused_before_any_request(fake, client, files):
    with pytest.raises(ApiError, match="suffix: 65 characters, at most 64"):
        create_job(client, JobSpec(training_file=files[0], suffix="x" * 65))
    with pytest.raises(ApiError, match="epochs: must be from 1 to 50"):
        create_job(client, JobSpec(training_file=files[0], n_epochs=0))
    assert fake.calls("POST", "/fine_tuning/jobs") == []


def test_an_unknown_file_id_is_one_line_with_the_parameter(fake, client):
    with pytest.raises(ApiError, match=r"invalid request \(400\).*\[parameter: training_file\]"):
        create_job(client, JobSpec(training_file="file-nope"))


def test_waiting_for_a_job_is_bounded(fake, client, files):
    job = create_job(client, JobSpec(training_file=files[0]))
    now = [0.0]
    fake.steps = 10**6
    with pytest.raises(WaitTimeoutError, match="still running after 60 s"):
        wait_for_job(
            client,
            job["id"],
            timeout=60,
            interval=15,
            sleep=lambda s: now.__setitem__(0, now[0] + s),
            clock=lambda: now[0],
        )


def _event(step: int | None, kind: str = "metrics", **values: float) -> EventInfo:
    data = {"step": step, **values} if step is not None else None
    return EventInfo(id=f"e{step}", created_at=0, level="info", message="", type=kind, data=data)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], []),
        ([_event(None, "message")], []),
        (
            [_event(2, train_loss=1.0), _event(1, train_loss=2.0, valid_loss=2.5)],
            [{"step": 1, "train_loss": 2.0, "valid_loss": 2.5}, {"step": 2, "train_loss": 1.0}],
        ),
        (
            [_event(1, train_loss=float("nan"), valid_loss="x", full_valid_loss=0.5)],  # type: ignore[arg-type]
            [{"step": 1, "full_valid_loss": 0.5}],
        ),
    ],
)
def test_collect_metrics_makes_one_row_per_step(events, expected):
    assert collect_metrics(events) == expected


def test_models_take_the_apis_shutdown_date_and_fall_back_to_the_table(fake, client, files):
    rows = {r["name"]: r for r in list_models(client)}
    assert rows["gpt-4.1-nano-2025-04-14"]["shutdown_date"] == "2027-06-30"
    assert rows["gpt-4.1-nano-2025-04-14"]["source"] == "api"
    assert rows["gpt-4.1-mini-2025-04-14"]["shutdown_date"] == "2027-01-14"
    assert rows["gpt-4.1-mini-2025-04-14"]["source"] == "table"
    assert rows["gpt-4.1-2025-04-14"]["available"] is False
