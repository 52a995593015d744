"""The Together backend, against a loopback fake of Together's API (tests/fake_together.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ftkit.errors import (
    ApiError,
    ExportCheckError,
    ProviderError,
    UploadError,
    WaitTimeoutError,
)
from ftkit.training.backends import open_trainer
from ftkit.training.together import (
    DEFAULT_BASE_MODEL,
    INFERENCE_URL,
    TogetherTrainer,
)
from ftkit.training.together_api import INSTALL_LINE
from ftkit.training.trainer import TrainRequest, summary
from tests.fake_together import KEY, FakeTogether

pytest.importorskip("together")

GOOD = {
    "messages": [
        {"role": "system", "content": "Estimate the price of the product."},
        {"role": "user", "content": "How much does this cost? Toaster, 2 slots"},
        {"role": "assistant", "content": "Price is $24.00"},
    ]
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTogether]:
    fake = FakeTogether()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeTogether) -> FakeTogether:
    server.reset()
    return server


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def trainer(fake: FakeTogether, waits: list[float]) -> TogetherTrainer:
    return TogetherTrainer(KEY, base_url=fake.url, sleep=waits.append)


def write(path: Path, rows: list[Any]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    return write(tmp_path / "train.jsonl", [GOOD] * 20), write(tmp_path / "valid.jsonl", [GOOD] * 5)


def run_to_end(trainer: TogetherTrainer, job_id: str) -> dict[str, Any]:
    for _ in range(20):
        job = trainer.retrieve(job_id)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return dict(job)
    raise AssertionError("the fake job never finished")


def jobs_created(fake: FakeTogether) -> int:
    return len(fake.state.jobs)


def test_happy_path_uploads_trains_and_names_the_model_evaluate_calls(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    train, valid = files
    job = trainer.start(TrainRequest(train, valid, epochs=2), run_id="17")
    assert job["status"] == "queued"
    assert job["training_file"].startswith("file-") and job["validation_file"]
    done = run_to_end(trainer, job["id"])
    assert done["status"] == "succeeded"
    model = done["fine_tuned_model"]
    assert model and "pricer-ftk17" in model
    metrics = trainer.metrics(job["id"])
    assert [row["step"] for row in metrics] == [1, 2, 3]
    assert metrics[0]["train_loss"] > metrics[-1]["train_loss"]
    assert "valid_loss" in metrics[-1]
    assert summary("together", trainer.retrieve(job["id"]), metrics)["model"] == model
    serving = trainer.serving(trainer.retrieve(job["id"]))
    assert (serving.model, serving.base_url) == (model, INFERENCE_URL)
    assert "dedicated endpoint" in serving.note and "local:DIR" in serving.note


def test_events_come_newest_first_and_checkpoints_latest_step_first(
    trainer: TogetherTrainer, files: tuple[str, str]
) -> None:
    job = trainer.start(TrainRequest(files[0]))
    run_to_end(trainer, job["id"])
    events = trainer.events(job["id"], limit=2)
    assert [e["type"] for e in events] == ["job_complete", "checkpoint_save"]
    points = trainer.checkpoints(job["id"])
    assert [p["step_number"] for p in points] == [3, 2, 1]
    assert points[0]["fine_tuned_model_checkpoint"] == f"{job['id']}:3"


def test_the_request_maps_onto_together_names(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    request = TrainRequest(
        files[0], files[1], base_model="Qwen/Qwen3-8B", epochs=3, batch_size=8,
        learning_rate=2e-4, lora_r=8, lora_alpha=16, seed=7, suffix="prices",
    )  # fmt: skip
    trainer.start(request, run_id="3")
    (body,) = fake.bodies("POST", "/v1/fine-tunes")
    assert body["model"] == "Qwen/Qwen3-8B"
    assert (body["n_epochs"], body["batch_size"], body["learning_rate"]) == (3, 8, 2e-4)
    assert body["training_type"].items() >= {"type": "Lora", "lora_r": 8, "lora_alpha": 16}.items()
    assert (body["random_seed"], body["suffix"], body["n_evals"]) == (7, "prices-ftk3", 5)


def test_auto_values_take_together_defaults(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    trainer.start(TrainRequest(files[0], epochs="auto"))
    (body,) = fake.bodies("POST", "/v1/fine-tunes")
    assert (body["model"], body["n_epochs"], body["batch_size"]) == (DEFAULT_BASE_MODEL, 1, "max")
    assert body["learning_rate"] == 1e-5 and not body.get("validation_file")


@pytest.mark.parametrize(
    ("field", "line"),
    [
        ({"qlora": True}, "Together does not take --qlora"),
        ({"max_steps": 10}, "Together does not take --max-steps"),
        ({"merge": True}, "Together does not take --merge"),
        ({"out": "runs/a"}, "Together does not take --out"),
    ],
    ids=["qlora", "max-steps", "merge", "out"],
)
def test_fields_together_does_not_take_are_refused_before_any_request(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str], field: Any, line: str
) -> None:
    with pytest.raises(ProviderError, match=line):
        trainer.start(TrainRequest(files[0], **field))
    assert fake.requests == []


def test_a_file_together_rejects_shows_its_validation_report(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    fake.file_outcome = "invalid"
    with pytest.raises(UploadError) as caught:
        trainer.start(TrainRequest(files[0]))
    line = str(caught.value)
    assert line.startswith("Together rejected train.jsonl (file-")
    assert "messages must alternate" in line and "\n" not in line
    assert jobs_created(fake) == 0


def test_a_file_against_together_rules_is_refused_before_upload(
    trainer: TogetherTrainer, fake: FakeTogether, tmp_path: Path
) -> None:
    flipped = {"messages": [{"role": "assistant", "content": "Hi"}, GOOD["messages"][1]]}
    path = write(tmp_path / "bad.jsonl", [GOOD, flipped])
    with pytest.raises(ExportCheckError, match=r"bad.jsonl: Together AI cannot take .*example 2"):
        trainer.upload(path)
    assert fake.requests == []


@pytest.mark.parametrize("kind", ["429", "500"])
def test_reads_are_retried_after_429_and_5xx(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str], kind: str
) -> None:
    job = trainer.start(TrainRequest(files[0]))
    fake.inject("GET", f"/v1/fine-tunes/{job['id']}", kind)
    assert trainer.retrieve(job["id"])["id"] == job["id"]


def test_a_429_on_create_waits_as_told_and_creates_one_job(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str], waits: list[float]
) -> None:
    fake.inject("POST", "/v1/fine-tunes", "429")
    job = trainer.start(TrainRequest(files[0]), run_id="5")
    assert 0.01 in waits
    assert jobs_created(fake) == 1 and job["id"] in fake.state.jobs


def test_a_5xx_on_create_looks_first_then_creates_once(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    fake.inject("POST", "/v1/fine-tunes", "500")
    job = trainer.start(TrainRequest(files[0]), run_id="6")
    assert jobs_created(fake) == 1 and job["id"] in fake.state.jobs


def test_a_lost_create_response_finds_the_job_instead_of_making_a_second(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    fake.inject("POST", "/v1/fine-tunes", "lost")
    job = trainer.start(TrainRequest(files[0]), run_id="8")
    assert len(fake.bodies("POST", "/v1/fine-tunes")) == 1
    assert list(fake.state.jobs) == [job["id"]]


def test_an_upload_rate_limited_to_the_end_is_one_line(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    fake.inject("POST", "/v1/files", "429", times=100)
    with pytest.raises(ApiError) as caught:
        trainer.upload(files[0])
    assert str(caught.value) == "Together: uploading train.jsonl: rate limited (429) - rate limited"


def test_a_batch_size_outside_the_model_limits_is_one_line_before_creating(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    with pytest.raises(ProviderError, match=r"^Together: creating the .*batch size"):
        trainer.start(TrainRequest(files[0], batch_size=2))
    assert jobs_created(fake) == 0


def test_a_file_never_validated_stops_waiting_with_one_line(
    fake: FakeTogether, files: tuple[str, str]
) -> None:
    fake.process_after = 10_000
    clock = iter(range(0, 10_000, 100))
    trainer = TogetherTrainer(
        KEY, base_url=fake.url, sleep=lambda _: None, clock=lambda: next(clock)
    )
    with pytest.raises(WaitTimeoutError, match=r"Together: train.jsonl still PENDING after 600s"):
        trainer.upload(files[0])


def test_an_unknown_job_is_one_line(trainer: TogetherTrainer) -> None:
    with pytest.raises(ApiError, match=r"^Together: retrieving job ft-nope: not found \(404\)"):
        trainer.retrieve("ft-nope")


def test_cancel_stops_the_job(trainer: TogetherTrainer, files: tuple[str, str]) -> None:
    job = trainer.start(TrainRequest(files[0]))
    assert trainer.cancel(job["id"])["status"] == "cancelled"
    assert trainer.retrieve(job["id"])["status"] == "cancelled"


def test_a_failed_job_says_why(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    fake.job_outcome = "error"
    job = trainer.start(TrainRequest(files[0]))
    done = run_to_end(trainer, job["id"])
    assert done["status"] == "failed"
    assert done["error"] and "CUDA out of memory" in done["error"]["message"]


def test_a_refused_create_is_one_line_naming_together_and_not_retried(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    with pytest.raises(ApiError) as caught:
        trainer.start(TrainRequest(files[0], base_model="no/such-model"))
    assert str(caught.value) == (
        "Together: creating the fine-tuning job: invalid request (400) - "
        "model no/such-model is not available"
    )
    assert len(fake.bodies("POST", "/v1/fine-tunes")) == 1


def test_a_wrong_key_is_one_line_without_the_key(
    fake: FakeTogether, files: tuple[str, str]
) -> None:
    wrong = "tgp-wrong-key-0123456789abcdefghij"
    with pytest.raises(ApiError) as caught:
        TogetherTrainer(wrong, base_url=fake.url).list_jobs()
    assert "authentication failed (401)" in str(caught.value) and wrong not in str(caught.value)


def test_list_jobs_newest_first(trainer: TogetherTrainer, files: tuple[str, str]) -> None:
    first = trainer.start(TrainRequest(files[0]), run_id="1")
    second = trainer.start(TrainRequest(files[0]), run_id="2")
    assert {j["id"] for j in trainer.list_jobs()} == {first["id"], second["id"]}
    assert len(trainer.list_jobs(limit=1)) == 1


def test_estimate_is_together_own_price_for_uploaded_files(
    trainer: TogetherTrainer, files: tuple[str, str]
) -> None:
    file_id = trainer.upload(files[0])
    line = trainer.estimate(TrainRequest(file_id, epochs=2))
    assert line == "Together estimates $0.84 for about 168,000 training tokens"
    assert "once the files are uploaded" in (trainer.estimate(TrainRequest(files[0])) or "")


def test_resume_is_refused_in_one_line(trainer: TogetherTrainer) -> None:
    with pytest.raises(ProviderError, match="Together cannot resume job ft-1"):
        trainer.resume("ft-1")


def test_serving_before_success_names_no_model(
    trainer: TogetherTrainer, files: tuple[str, str]
) -> None:
    job = trainer.start(TrainRequest(files[0]))
    serving = trainer.serving(job)
    assert serving.model == "" and "no trained model yet" in serving.note


def test_base_models_start_with_the_default(trainer: TogetherTrainer) -> None:
    assert trainer.base_models()[0] == DEFAULT_BASE_MODEL


def test_open_trainer_gives_the_together_backend(fake: FakeTogether) -> None:
    keys = {"TOGETHER_API_KEY": KEY, "TOGETHER_BASE_URL": fake.url}
    assert isinstance(open_trainer("together", keys=keys), TogetherTrainer)
    with pytest.raises(ProviderError, match="backend together: set TOGETHER_API_KEY"):
        open_trainer("together", keys={})


def test_without_the_sdk_one_line_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "together", None)
    with pytest.raises(ProviderError) as caught:
        TogetherTrainer(KEY)
    assert str(caught.value) == INSTALL_LINE


# --- contract: what ftkit sends and what the fake answers fit the SDK's own types ----------


def test_the_create_body_is_a_valid_sdk_fine_tune_request(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    from together.lib.types.fine_tuning import FinetuneRequest

    trainer.start(TrainRequest(files[0], files[1], epochs=2, learning_rate=1e-4), run_id="9")
    (body,) = fake.bodies("POST", "/v1/fine-tunes")
    parsed = FinetuneRequest.model_validate(body)
    assert parsed.suffix == "pricer-ftk9" and parsed.n_epochs == 2


def test_the_estimate_body_fits_the_sdk_params(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    from pydantic import TypeAdapter
    from together.types.fine_tuning_estimate_price_params import FineTuningEstimatePriceParams

    file_id = trainer.upload(files[0])
    trainer.estimate(TrainRequest(file_id))
    (body,) = fake.bodies("POST", "/v1/fine-tunes/estimate-price")
    TypeAdapter(FineTuningEstimatePriceParams).validate_python(body)
    assert body["training_type"]["type"] == "Lora"


def test_the_fake_answers_in_the_sdk_shapes(
    trainer: TogetherTrainer, fake: FakeTogether, files: tuple[str, str]
) -> None:
    from together.types.file_response import FileResponse
    from together.types.fine_tuning_list_response import FineTuningListResponse
    from together.types.finetune_response import FinetuneResponse

    job = trainer.start(TrainRequest(files[0]))
    run_to_end(trainer, job["id"])
    record = {k: v for k, v in fake.state.jobs[job["id"]].items() if not k.startswith("_")}
    FinetuneResponse.model_validate(record)
    FineTuningListResponse.model_validate({"data": [record]})
    file = {k: v for k, v in fake.state.files[job["training_file"]].items() if k[0] != "_"}
    FileResponse.model_validate(file)
