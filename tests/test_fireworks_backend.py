"""The Fireworks AI backend, against a loopback fake that replays Fireworks' documented API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fake_fireworks import ACCOUNT, KEY, FakeFireworks

from ftkit.errors import (
    ApiError,
    ExportCheckError,
    FtkitError,
    ProviderError,
    UploadError,
    WaitTimeoutError,
)
from ftkit.training.backends import open_trainer
from ftkit.training.fireworks import (
    DEFAULT_BASE_MODEL,
    FireworksTrainer,
    job_id_for,
    run_id_of,
    status_of,
)
from ftkit.training.fireworks_data import dataset_id_for
from ftkit.training.trainer import TrainRequest, summary


def _example(price: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "You estimate prices of items."},
            {"role": "user", "content": f"How much does item {price} cost?"},
            {"role": "assistant", "content": f"Price is ${price}.00"},
        ]
    }


def _write(path: Path, count: int, start: int = 0) -> str:
    lines = [json.dumps(_example(start + n)) for n in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def fake() -> Iterator[FakeFireworks]:
    server = FakeFireworks()
    yield server
    server.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def trainer(fake: FakeFireworks, sleeps: list[float]) -> FireworksTrainer:
    return FireworksTrainer(KEY, ACCOUNT, base_url=fake.url, sleep=sleeps.append)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    return _write(tmp_path / "train.jsonl", 8), _write(tmp_path / "valid.jsonl", 4, start=100)


def _request(files: tuple[str, str], **changes: Any) -> TrainRequest:
    fields: dict[str, Any] = {
        "training_file": files[0],
        "validation_file": files[1],
        "base_model": "llama-v3p1-8b-instruct",
        "epochs": 2,
        "learning_rate": 1e-4,
        "lora_r": 8,
        "batch_size": 16,
        "suffix": "pricer",
    }
    return TrainRequest(**{**fields, **changes})


def _finish(trainer: FireworksTrainer, job_id: str) -> dict[str, Any]:
    seen = []
    for _ in range(10):
        job = trainer.retrieve(job_id)
        seen.append(job["status"])
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return {"job": job, "seen": seen}
    raise AssertionError(f"job never finished: {seen}")


def test_happy_path_trains_a_model_that_evaluate_can_call(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    job = trainer.start(_request(files), run_id="42")

    assert job["id"].startswith("ftkit-42-") and job["metadata"] == {"ftkit_run_id": "42"}
    assert job["status"] == "validating_files"
    body = fake.job_creates()[0].json()
    assert body["baseModel"] == "accounts/fireworks/models/llama-v3p1-8b-instruct"
    assert (body["epochs"], body["learningRate"], body["loraRank"]) == (2, 1e-4, 8)
    assert body["batchSizeSamples"] == 16 and "batchSize" not in body
    train_id = dataset_id_for(Path(files[0]).read_bytes())
    assert body["dataset"] == f"accounts/{ACCOUNT}/datasets/{train_id}"
    assert body["evaluationDataset"].startswith(f"accounts/{ACCOUNT}/datasets/ftkit-")
    assert fake.contents[train_id] == Path(files[0]).read_bytes()

    done = _finish(trainer, job["id"])
    assert done["seen"] == ["queued", "running", "succeeded"]
    model = f"accounts/{ACCOUNT}/models/{job['id']}"
    assert done["job"]["fine_tuned_model"] == model
    serving = trainer.serving(done["job"])
    assert serving.model == model
    assert serving.base_url == "https://api.fireworks.ai/inference/v1"
    assert f'firectl deployment create "{model}"' in serving.note
    assert "GPU-hour" in serving.note and "not serverless" in serving.note
    result = summary("fireworks", done["job"], trainer.metrics(job["id"]))
    assert result["model"] == model and result["status"] == "succeeded"


def test_events_tell_the_state_and_progress_newest_first(
    trainer: FireworksTrainer, files: tuple[str, str]
) -> None:
    job = trainer.start(_request(files), run_id="events")
    _finish(trainer, job["id"])
    messages = [event["message"] for event in trainer.events(job["id"])]
    assert messages[0].startswith("Job state COMPLETED: model accounts/")
    assert messages[1] == "Training 100% done, epoch 2"
    assert messages[-1] == f"Created job {job['id']} on {DEFAULT_BASE_MODEL}"


def test_a_failed_job_says_why(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    fake.job_outcome = "failed"
    job = _finish(trainer, trainer.start(_request(files), run_id="fails")["id"])["job"]
    assert job["status"] == "failed" and job["fine_tuned_model"] is None
    assert job["error"] is not None and job["error"]["message"] == "training diverged"
    assert trainer.events(job["id"])[0]["level"] == "error"


def test_a_dataset_fireworks_rejects_fails_with_its_status_message(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    fake.dataset_outcome = "invalid"
    with pytest.raises(UploadError) as caught:
        trainer.start(_request(files), run_id="bad-data")
    assert str(caught.value) == (
        f"Fireworks rejected dataset {dataset_id_for(Path(files[0]).read_bytes())}: "
        "line 2: messages is missing"
    )
    assert fake.jobs == {}


def test_a_file_fireworks_rules_refuse_is_not_uploaded(
    trainer: FireworksTrainer, fake: FakeFireworks, tmp_path: Path
) -> None:
    tiny = _write(tmp_path / "tiny.jsonl", 2)
    with pytest.raises(ExportCheckError) as caught:
        trainer.upload(tiny)
    assert "tiny.jsonl: 2 training examples; Fireworks AI needs at least 3" in str(caught.value)
    assert fake.requests == []


def test_a_large_file_goes_through_a_signed_url_without_the_key(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    trainer.upload_limit = 100
    dataset_id = trainer.upload(files[0])
    paths = [r.path.rsplit(":", 1)[-1] for r in fake.requests if r.method in ("POST", "PUT")]
    assert paths == [
        f"/v1/accounts/{ACCOUNT}/datasets",
        "getUploadEndpoint",
        f"/signed/{dataset_id}/train.jsonl",
        "validateUpload",
    ]
    assert fake.contents[dataset_id] == Path(files[0]).read_bytes()
    assert fake.datasets[dataset_id]["state"] == "READY"


def test_the_same_file_again_reuses_the_ready_dataset(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    first = trainer.upload(files[0])
    uploads = len([r for r in fake.requests if r.path.endswith(":upload")])
    assert trainer.upload(files[0]) == first
    assert len([r for r in fake.requests if r.path.endswith(":upload")]) == uploads == 1


@pytest.mark.parametrize("kind", ["429", "500", "drop"])
def test_rate_limits_server_errors_and_drops_are_retried(
    trainer: FireworksTrainer,
    fake: FakeFireworks,
    sleeps: list[float],
    files: tuple[str, str],
    kind: str,
) -> None:
    jobs = f"/v1/accounts/{ACCOUNT}/supervisedFineTuningJobs"
    fake.inject("POST", jobs, kind)
    fake.inject("GET", f"{jobs}/", kind)
    job = trainer.start(_request(files), run_id=f"retry-{kind}")
    assert trainer.retrieve(job["id"])["status"] == "queued"
    assert len(sleeps) == 2
    if kind == "429":
        assert sleeps == [0.0, 0.0]  # the fake's Retry-After
    assert len(fake.jobs) == 1


def test_a_lost_create_response_does_not_make_a_second_job(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    fake.inject("POST", f"/v1/accounts/{ACCOUNT}/supervisedFineTuningJobs", "lost")
    fake.inject("POST", f"/v1/accounts/{ACCOUNT}/datasets", "lost")
    job = trainer.start(_request(files), run_id="lost")
    assert len(fake.job_creates()) == 2 and list(fake.jobs) == [job["id"]]
    assert len(fake.datasets) == 2


def test_retries_run_out_with_one_line(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    fake.inject("GET", f"/v1/accounts/{ACCOUNT}/supervisedFineTuningJobs/", "500", times=9)
    job = trainer.start(_request(files), run_id="down")
    with pytest.raises(ApiError) as caught:
        trainer.retrieve(job["id"])
    assert str(caught.value) == "Fireworks get job: server error (500) - injected 500"


def test_a_refused_request_stops_at_once_and_hides_the_key(
    trainer: FireworksTrainer, fake: FakeFireworks, sleeps: list[float], files: tuple[str, str]
) -> None:
    fake.echo_key = True
    with pytest.raises(ApiError) as caught:
        trainer.start(_request(files), run_id="echo")
    line = str(caught.value)
    assert line.startswith("Fireworks create job: invalid request (400) - bad request from key")
    assert KEY not in line and "\n" not in line
    assert sleeps == []


def test_a_wrong_key_is_one_line(fake: FakeFireworks, files: tuple[str, str]) -> None:
    trainer = FireworksTrainer("fw-wrong-key-0000000000", ACCOUNT, base_url=fake.url)
    with pytest.raises(ApiError, match=r"^Fireworks create dataset: authentication failed \(401\)"):
        trainer.upload(files[0])


def test_cancel_stops_the_job(trainer: FireworksTrainer, files: tuple[str, str]) -> None:
    job = trainer.start(_request(files), run_id="cancel-me")
    assert trainer.cancel(job["id"])["status"] == "cancelled"
    assert trainer.list_jobs()[0]["status"] == "cancelled"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"max_steps": 10}, "--max-steps"),
        ({"lora_alpha": 64}, "--lora-alpha"),
        ({"qlora": True}, "--qlora"),
        ({"out": "run"}, "--out"),
        ({"merge": True}, "--merge"),
    ],
    ids=["max_steps", "lora_alpha", "qlora", "out", "merge"],
)
def test_fields_fireworks_does_not_take_are_refused_before_any_call(
    trainer: FireworksTrainer,
    fake: FakeFireworks,
    files: tuple[str, str],
    change: dict[str, Any],
    words: str,
) -> None:
    with pytest.raises(ProviderError, match=f"Fireworks does not take {words}"):
        trainer.start(_request(files, **change), run_id="refused")
    assert fake.requests == []


@pytest.mark.parametrize("job_id", ["../../models/x", "a/b?c", "UPPER", ""], ids=str)
def test_hostile_job_ids_never_reach_the_api(
    trainer: FireworksTrainer, fake: FakeFireworks, job_id: str
) -> None:
    with pytest.raises(ProviderError, match="not a Fireworks fine-tuning job id"):
        trainer.retrieve(job_id)
    assert fake.requests == []


def test_base_models_are_the_tunable_ones_listed_live(trainer: FireworksTrainer) -> None:
    assert trainer.base_models() == [
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "accounts/fireworks/models/qwen2p5-7b-instruct",
    ]


def test_estimate_prices_tokens_times_epochs(
    trainer: FireworksTrainer, files: tuple[str, str]
) -> None:
    line = trainer.estimate(_request(files, base_model="llama-v3p1-70b-instruct"))
    assert line is not None
    assert "x 2 epoch(s) at $3.00 per 1M training tokens for a 70B base" in line
    assert "checked 2026-12-06" in line
    assert trainer.estimate(_request(files, base_model="mystery-model")) is None


def test_states_map_to_ftkit_statuses() -> None:
    assert [status_of(f"JOB_STATE_{s}") for s in ("CREATING", "PENDING", "RUNNING")] == [
        "validating_files",
        "queued",
        "running",
    ]
    assert [status_of(f"JOB_STATE_{s}") for s in ("COMPLETED", "FAILED", "CANCELLED")] == [
        "succeeded",
        "failed",
        "cancelled",
    ]


def test_job_ids_come_from_run_ids_and_fit_fireworks_rules() -> None:
    body = {"dataset": "d", "baseModel": "m"}
    same = job_id_for("20261206-030000_Pricer", body)
    assert same == job_id_for("20261206-030000_Pricer", dict(body))
    assert re.fullmatch(r"ftkit-20261206-030000-pricer-[0-9a-f]{8}", same)
    assert run_id_of(same) == "20261206-030000-pricer"
    assert job_id_for("20261206-030000_Pricer", {**body, "epochs": 3}) != same
    long = job_id_for("x" * 200, body)
    assert len(long) <= 63 and run_id_of(long) == "x" * 48


def test_a_run_id_reused_with_another_request_makes_its_own_job(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    first = trainer.start(_request(files), run_id="7")
    second = trainer.start(_request(files, epochs=3), run_id="7")
    assert first["id"] != second["id"] and len(fake.jobs) == 2
    assert first["metadata"] == second["metadata"] == {"ftkit_run_id": "7"}


def test_a_dataset_that_never_gets_ready_ends_the_wait_with_one_line(
    trainer: FireworksTrainer, fake: FakeFireworks, sleeps: list[float], files: tuple[str, str]
) -> None:
    fake.dataset_outcome = "stuck"
    with pytest.raises(WaitTimeoutError, match=r"was not READY after 600 s; upload the file"):
        trainer.upload(files[0])
    assert len(sleeps) == 300


def test_open_trainer_takes_the_keys_and_names_a_missing_one(fake: FakeFireworks) -> None:
    keys = {"FIREWORKS_API_KEY": KEY, "FIREWORKS_ACCOUNT_ID": ACCOUNT}
    trainer = open_trainer("fireworks", keys=keys)
    assert isinstance(trainer, FireworksTrainer) and trainer.backend == "fireworks"
    with pytest.raises(ProviderError, match="FIREWORKS_ACCOUNT_ID"):
        open_trainer("fireworks", keys={"FIREWORKS_API_KEY": KEY})
    with pytest.raises(FtkitError, match="FIREWORKS_API_KEY"):
        open_trainer("fireworks", keys={"FIREWORKS_ACCOUNT_ID": ACCOUNT})


def test_a_mock_transport_sees_the_documented_requests(files: tuple[str, str]) -> None:
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if "/datasets" in request.url.path:
            return httpx2.Response(200, json={"name": "d", "state": "READY"})
        if request.method == "POST":
            return httpx2.Response(409, json={"code": 6, "message": "already exists"})
        name = request.url.path.removeprefix("/v1/")
        job = {"name": name, "dataset": "d", "state": "JOB_STATE_PENDING"}
        return httpx2.Response(200, json={**job, "createTime": "2026-12-06T03:00:00.5Z"})

    client = httpx2.Client(transport=httpx2.MockTransport(answer))
    trainer = FireworksTrainer(KEY, ACCOUNT, http=client, sleep=lambda _: None)
    found = trainer.start(_request(files), run_id="mock")
    assert found["id"].startswith("ftkit-mock-") and found["status"] == "queued"
    assert found["created_at"] == 1796526000
    create = next(r for r in seen if r.url.path.endswith("supervisedFineTuningJobs"))
    assert str(create.url).startswith(
        f"https://api.fireworks.ai/v1/accounts/{ACCOUNT}/supervisedFineTuningJobs?"
    )
    assert create.url.params["supervisedFineTuningJobId"] == found["id"]
    assert create.headers["authorization"] == f"Bearer {KEY}"


def test_the_create_body_uses_only_fields_of_the_sdk_types(
    trainer: FireworksTrainer, fake: FakeFireworks, files: tuple[str, str]
) -> None:
    params = pytest.importorskip("fireworks.types.supervised_fine_tuning_job_create_params")
    import typing

    hints = typing.get_type_hints(params.SupervisedFineTuningJobCreateParams, include_extras=True)
    aliases = set()
    for name, hint in hints.items():
        alias = next((getattr(m, "alias", None) for m in getattr(hint, "__metadata__", ())), None)
        aliases.add(alias or name)
    trainer.start(_request(files), run_id="contract")
    assert set(fake.job_creates()[0].json()) <= aliases
    assert "supervisedFineTuningJobId" in aliases
