"""Azure OpenAI fine-tuning behind the trainer interface, against the loopback fake server.

The fake serves OpenAI's routes under ``/openai`` too, so an ``AzureOpenAI`` client reaches it as
it reaches a resource: ``{endpoint}/openai/fine_tuning/jobs?api-version=...`` with an ``api-key``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.fine_tuning import job_create_params

from ftkit.errors import ApiError, FineTuningClosedError, ProviderError, UploadError
from ftkit.providers import DEFAULT_AZURE_API_VERSION, ProviderSettings, client_from_settings
from ftkit.training.azure import PRICING_URL, AzureTrainer, deploy_command, is_open_weight
from ftkit.training.backends import open_trainer
from ftkit.training.files import upload_file
from ftkit.training.jobs import CLOSED_MESSAGE
from ftkit.training.models import base_name, find_model
from ftkit.training.monitor import follow_job
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.shutdown import list_models
from ftkit.training.trainer import HostedTrainer, TrainRequest, summary
from tests.fake_openai import KEY, FakeOpenAI, shared_fake

JOBS = "/fine_tuning/jobs"
RESOURCE = "https://pricer-lab.openai.azure.com"
NOV_2026 = 1793404800  # 2026-10-31 00:00 UTC
JAN_2027 = 1798761600  # 2027-01-01 00:00 UTC


@pytest.fixture
def fake() -> FakeOpenAI:
    return shared_fake()


def _client(fake: FakeOpenAI, retries: int = 0) -> openai.OpenAI:
    settings = ProviderSettings(azure_endpoint=fake.azure_url, azure_api_key=KEY)
    return client_from_settings(settings, max_retries=retries)


@pytest.fixture
def trainer(fake: FakeOpenAI) -> AzureTrainer:
    return AzureTrainer(_client(fake), fake.azure_url, sleep=lambda _: None)


def _write(path: Path, count: int) -> str:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Estimate the price."},
                {"role": "user", "content": f"Item {n}: a kettle"},
                {"role": "assistant", "content": f"Price is ${n}.00"},
            ]
        }
        for n in range(count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def _file_id(fake: FakeOpenAI) -> str:
    return str(fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"])


def _sent(fake: FakeOpenAI) -> dict[str, Any]:
    (sent,) = fake.calls("POST", JOBS)
    return sent.body  # type: ignore[no-any-return]


# ---- the training type ---------------------------------------------------------------------


def test_the_training_type_goes_in_the_body_and_globalstandard_is_the_default(
    fake, trainer
) -> None:
    trainer.start(TrainRequest(training_file=_file_id(fake)))
    assert _sent(fake)["trainingType"] == "globalStandard"
    (sent,) = fake.calls("POST", JOBS)
    assert sent.query["api-version"] == DEFAULT_AZURE_API_VERSION
    assert sent.headers["api-key"] == KEY


@pytest.mark.parametrize(
    ("given", "sent"),
    [("standard", "standard"), ("Standard", "standard"), ("developerTier", "developerTier")],
    ids=["standard", "capitalised", "developer"],
)
def test_a_chosen_training_type_is_sent_as_azure_spells_it(fake, trainer, given, sent) -> None:
    trainer.start(TrainRequest(training_file=_file_id(fake), training_type=given))
    assert _sent(fake)["trainingType"] == sent


def test_an_unknown_training_type_is_one_line_before_any_request(fake, trainer) -> None:
    with pytest.raises(ProviderError) as refused:
        trainer.start(TrainRequest(training_file=_file_id(fake), training_type="premium"))
    assert str(refused.value) == (
        "--training-type 'premium': Azure OpenAI takes globalStandard, standard, developerTier"
    )
    assert fake.calls("POST", JOBS) == []


@pytest.mark.parametrize("kind", ["standard", "developerTier"])
def test_an_open_weight_model_trains_only_with_globalstandard(fake, trainer, kind) -> None:
    request = TrainRequest(training_file=_file_id(fake), base_model="gpt-oss-20b")
    with pytest.raises(ProviderError) as refused:
        trainer.start(TrainRequest(**{**request.__dict__, "training_type": kind}))
    assert str(refused.value) == (
        "gpt-oss-20b is an open-weight model: Azure OpenAI trains it only with "
        f"--training-type globalStandard, not {kind}"
    )
    assert fake.calls("POST", JOBS) == []
    trainer.start(request)
    assert _sent(fake)["trainingType"] == "globalStandard"


def test_which_models_are_open_weight() -> None:
    assert not is_open_weight("gpt-4o-mini-2024-07-18")
    assert not is_open_weight("gpt-4.1-nano-2025-04-14")
    assert is_open_weight("gpt-oss-20b")
    assert is_open_weight("Llama-3.3-70B-Instruct")


def test_openai_refuses_a_training_type_and_sends_none(fake) -> None:
    client = client_from_settings(ProviderSettings(api_key=KEY, base_url=fake.url), max_retries=0)
    openai_trainer = OpenAITrainer(client, fake.url)
    request = TrainRequest(training_file=_file_id(fake))
    with pytest.raises(ProviderError, match="OpenAI does not take --training-type; it is Azure"):
        openai_trainer.start(TrainRequest(**{**request.__dict__, "training_type": "standard"}))
    openai_trainer.start(request)
    assert "trainingType" not in _sent(fake)


def test_the_request_matches_the_sdks_own_create_params(fake, trainer) -> None:
    trainer.start(TrainRequest(training_file=_file_id(fake), suffix="p", seed=3))
    body = _sent(fake)
    known = set(job_create_params.JobCreateParams.__annotations__)
    assert set(body) - known == {"trainingType"}
    assert body["method"]["type"] == "supervised"


# ---- the models ----------------------------------------------------------------------------


def _azure_model(name: str, fine_tune: bool, retire: dict[str, int] | None = None) -> dict:
    return {
        "id": name,
        "object": "model",
        "created_at": 1721260800,
        "status": "succeeded",
        "lifecycle_status": "generally-available",
        "capabilities": {"fine_tune": fine_tune, "inference": True, "chat_completion": True},
        "deprecation": retire or {},
    }


def test_base_models_come_from_azures_live_list_with_retirement_dates(fake, trainer) -> None:
    fake.azure_models = [
        _azure_model(
            "gpt-4o-mini-2024-07-18", True, {"fine_tune": NOV_2026, "inference": JAN_2027}
        ),
        _azure_model("gpt-4.1-mini-2025-04-14", True),
        _azure_model("gpt-4o-2024-11-20", False, {"inference": JAN_2027}),
    ]
    listing = trainer.models()
    assert listing.caption is None
    assert [m.name for m in listing.models] == ["gpt-4.1-mini-2025-04-14", "gpt-4o-mini-2024-07-18"]
    mini = listing.models[1]
    assert (mini.training_retires, mini.inference_retires) == ("2026-10-31", "2027-01-01")
    assert trainer.base_models() == ["gpt-4.1-mini-2025-04-14", "gpt-4o-mini-2024-07-18"]
    listed = fake.calls("GET", "/models")
    assert [call.query["api-version"] for call in listed] == [DEFAULT_AZURE_API_VERSION] * 2


def test_base_models_fall_back_to_ftkits_table_with_a_caption(fake, trainer) -> None:
    fake.inject("GET", "/models", "500")
    listing = trainer.models()
    assert "gpt-4o-mini-2024-07-18" in [m.name for m in listing.models]
    assert listing.caption is not None
    assert listing.caption.startswith("Azure's model list could not be read (")
    assert "showing ftkit's table of OpenAI models" in listing.caption


def test_the_models_list_shows_azures_retirement_dates_and_fine_tuned_models(fake) -> None:
    fake.azure_models = [
        _azure_model("gpt-4o-mini-2024-07-18", True, {"inference": JAN_2027}),
        _azure_model("gpt-4o-mini-2024-07-18.ft-0123abcd", False, {"inference": JAN_2027}),
    ]
    rows = {row["name"]: row for row in list_models(_client(fake))}
    base = rows["gpt-4o-mini-2024-07-18"]
    assert (base["available"], base["shutdown_date"], base["source"]) == (True, "2027-01-01", "api")
    tuned = rows["gpt-4o-mini-2024-07-18.ft-0123abcd"]
    assert tuned["fine_tuned"] and tuned["base"] == "gpt-4o-mini-2024-07-18"


def test_an_azure_fine_tuned_name_maps_to_its_base() -> None:
    assert base_name("gpt-4.1-mini-2025-04-14.ft-b044a9d3") == "gpt-4.1-mini-2025-04-14"
    assert find_model("gpt-4.1-mini-2025-04-14.ft-b044a9d3").name == "gpt-4.1-mini-2025-04-14"


# ---- uploads -------------------------------------------------------------------------------


def test_a_file_azure_would_refuse_is_one_line_and_never_sent(fake, trainer, tmp_path) -> None:
    path = _write(tmp_path / "small.jsonl", 3)
    with pytest.raises(UploadError) as refused:
        trainer.upload(path)
    assert str(refused.value) == (
        f"{path}: not uploaded, Azure OpenAI would refuse it: 3 training examples; "
        "Azure OpenAI needs at least 10"
    )
    assert fake.requests == []


def test_a_file_over_azures_512_mb_limit_is_refused_unread(fake, trainer, tmp_path) -> None:
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as handle:
        handle.truncate(600 * 2**20)
    with pytest.raises(UploadError) as refused:
        trainer.upload(str(path))
    assert str(refused.value) == (
        f"{path}: not uploaded, 600 MB is over Azure OpenAI's 512 MB limit for a training file"
    )
    assert fake.requests == []


def test_a_file_over_the_threshold_goes_through_the_uploads_api(fake, tmp_path) -> None:
    trainer = AzureTrainer(_client(fake), fake.azure_url, uploads_threshold=500)
    path = _write(tmp_path / "train.jsonl", 20)
    file_id = trainer.upload(path)
    assert fake.calls("POST", "/files") == []
    assert len(fake.calls("POST", "/uploads")) == 1
    assert fake.state.contents[file_id] == Path(path).read_bytes()


def test_a_small_file_is_one_request(fake, trainer, tmp_path) -> None:
    file_id = trainer.upload(_write(tmp_path / "train.jsonl", 20))
    assert len(fake.calls("POST", "/files")) == 1 and fake.calls("POST", "/uploads") == []
    assert fake.state.files[file_id]["purpose"] == "fine-tune"


def test_on_azure_files_over_100_mb_use_the_uploads_api_by_default(tmp_path) -> None:
    fake = FakeOpenAI(store_content=False)
    try:
        path = tmp_path / "big.jsonl"
        with open(path, "wb") as handle:
            handle.truncate(100 * 1024 * 1024 + 1)
        store = tmp_path / "uploads.json"
        upload_file(_client(fake), path, endpoint="azure", override=True, wait=False, store=store)
        assert fake.calls("POST", "/files") == []
        assert len(fake.calls("POST", "/uploads")) == 1
    finally:
        fake.stop()


def test_the_estimate_prices_a_local_file_and_points_to_azures_prices(trainer, tmp_path) -> None:
    path = _write(tmp_path / "train.jsonl", 20)
    line = trainer.estimate(TrainRequest(training_file=path, epochs=2))
    assert line is not None and line.startswith("about $")
    assert "training tokens at OpenAI's list price" in line
    assert line.endswith(f"(globalStandard): {PRICING_URL}")
    assert trainer.estimate(TrainRequest(training_file="file-abc")) is None
    assert trainer.estimate(TrainRequest(training_file=path, base_model="gpt-oss-20b")) is None


# ---- jobs ----------------------------------------------------------------------------------


def test_happy_path_from_files_to_a_trained_model_and_its_deployment(
    fake, trainer, tmp_path
) -> None:
    train = trainer.upload(_write(tmp_path / "train.jsonl", 20))
    valid = trainer.upload(_write(tmp_path / "valid.jsonl", 10))
    started = trainer.start(
        TrainRequest(training_file=train, validation_file=valid), run_id="run-1"
    )
    job, events = follow_job(trainer, started["id"], interval=0, sleep=lambda _: None)
    assert job["status"] == "succeeded" and job["fine_tuned_model"]
    assert any("Step 3/3" in event["message"] for event in events)
    result = summary("azure", job, trainer.metrics(job["id"]))
    assert result["model"] == job["fine_tuned_model"]
    assert result["metrics"]["steps"] == 3
    serving = trainer.serving(job)
    assert serving.base_url == fake.azure_url
    assert f"--model-name {job['fine_tuned_model']} " in serving.note
    assert f"calls deployment {serving.model} at {fake.azure_url}" in serving.note
    assert [j["id"] for j in trainer.list_jobs()] == [job["id"]]


def test_a_failed_job_says_why(fake, trainer) -> None:
    fake.job_outcome = "failed"
    started = trainer.start(TrainRequest(training_file=_file_id(fake)))
    job, _ = follow_job(trainer, started["id"], interval=0, sleep=lambda _: None)
    assert job["status"] == "failed"
    assert job["error"] is not None
    assert job["error"]["message"] == "The job failed due to an invalid training file."


@pytest.mark.parametrize(
    ("azure", "ftkit"),
    [("pending", "queued"), ("created", "validating_files"), ("running", "running")],
    ids=["pending", "created", "running"],
)
def test_azures_job_states_read_as_ftkits(fake, trainer, azure, ftkit) -> None:
    job = trainer.start(TrainRequest(training_file=_file_id(fake)))
    fake.state.jobs[job["id"]]["status"] = azure
    fake.state.jobs[job["id"]]["_step"] = 99  # a running job stays running for this look
    assert trainer.retrieve(job["id"])["status"] == ftkit
    assert [j["status"] for j in trainer.list_jobs()] == [ftkit]


@pytest.mark.parametrize("fault", ["429", "500"])
def test_a_429_or_5xx_on_create_is_retried_into_one_job(fake, fault) -> None:
    waits: list[float] = []
    trainer = AzureTrainer(_client(fake), fake.azure_url, sleep=waits.append)
    fake.inject("POST", JOBS, fault)
    job = trainer.start(TrainRequest(training_file=_file_id(fake)), run_id="retry")
    assert list(fake.state.jobs) == [job["id"]]
    assert len(fake.calls("POST", JOBS)) == 2 and waits


@pytest.mark.parametrize("fault", ["429", "500"])
def test_a_429_or_5xx_while_watching_is_retried(fake, fault) -> None:
    trainer = AzureTrainer(_client(fake, retries=2), fake.azure_url)
    started = trainer.start(TrainRequest(training_file=_file_id(fake)))
    fake.inject("GET", f"{JOBS}/{started['id']}", fault)
    assert trainer.retrieve(started["id"])["status"] == "queued"


def test_no_duplicate_job_when_the_create_reply_is_lost(fake, trainer) -> None:
    fake.inject("POST", JOBS, "lost")
    job = trainer.start(TrainRequest(training_file=_file_id(fake)), run_id="once")
    assert list(fake.state.jobs) == [job["id"]]
    assert job["metadata"]["ftkit_run_id"] == "once"


def test_cancel_stops_the_job(fake, trainer) -> None:
    job = trainer.start(TrainRequest(training_file=_file_id(fake)))
    assert trainer.cancel(job["id"])["status"] == "cancelled"
    assert len(fake.calls("POST", f"{JOBS}/{job['id']}/cancel")) == 1


def test_a_403_on_azure_is_azures_refusal_not_openais_wind_down(fake, trainer) -> None:
    fake.closed = True
    with pytest.raises(ApiError) as refused:
        trainer.start(TrainRequest(training_file=_file_id(fake)))
    assert not isinstance(refused.value, FineTuningClosedError)
    assert str(refused.value).startswith("creating the fine-tuning job: ")
    assert "(403)" in str(refused.value)


def test_openais_wind_down_refusal_names_the_ways_forward() -> None:
    for way in ("--backend azure", "together|fireworks", "--backend local", "ftkit export"):
        assert way in CLOSED_MESSAGE


def test_open_trainer_gives_the_azure_trainer(fake) -> None:
    trainer = open_trainer("azure", client=_client(fake), endpoint=RESOURCE)
    assert isinstance(trainer, AzureTrainer) and trainer.backend == "azure"
    hosted: HostedTrainer = trainer
    assert hosted.endpoint == RESOURCE  # type: ignore[attr-defined]


# ---- serving -------------------------------------------------------------------------------


def _job(training_type: str | None, fine_tuned: str | None = "gpt-4o-mini.ft-abc123") -> dict:
    metadata = {"ftkit_run_id": "7", "ftkit_suffix": "pricer"}
    if training_type:
        metadata["ftkit_training_type"] = training_type
    return {"id": "ftjob-0f1e2d3c4b5a", "fine_tuned_model": fine_tuned, "metadata": metadata}


def test_serving_gives_the_exact_deploy_command_and_who_may_run_it(fake) -> None:
    trainer = AzureTrainer(_client(fake), RESOURCE, resource_group="course-rg")
    serving = trainer.serving(_job("globalStandard"))  # type: ignore[arg-type]
    assert serving.model == "pricer-2d3c4b5a"
    assert serving.base_url == RESOURCE
    command = (
        "az cognitiveservices account deployment create --resource-group course-rg "
        "--name pricer-lab --deployment-name pricer-2d3c4b5a --model-name "
        'gpt-4o-mini.ft-abc123 --model-version "1" --model-format OpenAI '
        "--sku-name GlobalStandard --sku-capacity 1"
    )
    assert f"Run: {command} ." in serving.note
    assert "Azure credentials" in serving.note and "not the API key" in serving.note
    assert "24 hours" not in serving.note


def test_a_developer_tier_deployment_is_said_to_be_deleted_after_24_hours(fake) -> None:
    serving = AzureTrainer(_client(fake), RESOURCE).serving(_job("developerTier"))  # type: ignore[arg-type]
    assert "--sku-name DeveloperTier" in serving.note
    assert "--resource-group '<your-resource-group>'" in serving.note
    assert "A Developer-tier deployment is deleted after 24 hours" in serving.note


def test_a_hostile_model_name_cannot_run_anything_in_the_deploy_command(fake) -> None:
    trainer = AzureTrainer(_client(fake), RESOURCE, resource_group="course-rg")
    serving = trainer.serving(_job("standard", fine_tuned="m; rm -rf ~"))  # type: ignore[arg-type]
    assert "--model-name 'm; rm -rf ~' --model-version" in serving.note


def test_the_deploy_command_names_each_sku() -> None:
    common = {"resource_group": "g", "resource": "r", "deployment": "d", "model": "m"}
    assert deploy_command(**common, kind="standard").endswith(
        "--sku-name Standard --sku-capacity 1"
    )
