"""The facade: ``import ftkit`` names every stage's entry point, loads none of the heavy ones.

The list below is the public surface; changing it is a deliberate act, made here and in the
README together.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ftkit
from ftkit.providers import ProviderSettings, client_from_settings
from tests.fake_chat import serve
from tests.fake_openai import KEY, shared_fake

PUBLIC = [
    "ApiError",
    "BASELINES",
    "ChatPredictor",
    "CheckError",
    "CheckReport",
    "ColumnMapping",
    "ConfigError",
    "CredentialsError",
    "EvaluationError",
    "ExportCheckError",
    "ExportResult",
    "FineTuningClosedError",
    "FtkitError",
    "HistoryError",
    "HistoryStore",
    "Item",
    "JobSpec",
    "LoadedItems",
    "Metrics",
    "ModelError",
    "OutputError",
    "PickleRefusedError",
    "Predictor",
    "PrepareResult",
    "PriceTableError",
    "ProviderError",
    "ProviderSettings",
    "Recorder",
    "RetriesExhaustedError",
    "SamplingError",
    "SourceError",
    "Split",
    "Started",
    "TemplateError",
    "Templates",
    "TrainRequest",
    "Trainer",
    "UploadError",
    "UploadResult",
    "WaitTimeoutError",
    "Wandb",
    "cancel_job",
    "check_file",
    "client_from_settings",
    "compare_runs",
    "compute_metrics",
    "create_job",
    "env_settings",
    "estimate_training_cost",
    "evaluate",
    "export_support",
    "follow_job",
    "get_run",
    "list_jobs",
    "list_models",
    "list_runs",
    "load_items",
    "load_prices",
    "load_run",
    "make_baseline",
    "open_store",
    "open_trainer",
    "prepare",
    "read_export",
    "read_jsonl",
    "render_examples",
    "render_messages",
    "resolve_settings",
    "retrieve_job",
    "save_run",
    "score_item",
    "split_items",
    "start_job",
    "store_recorder",
    "upload_file",
    "wait_for_job",
    "write_export",
    "write_jsonl",
    "write_split",
]
HEAVY = ("openai", "tiktoken", "altair", "pandas")


def test_the_public_surface_is_pinned() -> None:
    assert sorted(ftkit.__all__) == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_each_public_name_resolves_and_is_listed(name: str) -> None:
    assert getattr(ftkit, name) is not None
    assert name in dir(ftkit)


def test_each_name_is_the_library_object_itself() -> None:
    from ftkit.evaluation.run import evaluate
    from ftkit.preflight.scan import check_file
    from ftkit.training.launch import start_job

    assert (ftkit.start_job, ftkit.evaluate, ftkit.check_file) == (start_job, evaluate, check_file)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'start_jobs'"):
        _ = ftkit.start_jobs  # type: ignore[attr-defined]


def test_import_ftkit_loads_no_sdk_tokenizer_dataframe_or_charts() -> None:
    code = f"import sys, ftkit; print([m for m in {HEAVY!r} if m in sys.modules])"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "[]"


def test_a_lazy_name_loads_only_its_own_stage() -> None:
    code = (
        f"import sys, ftkit; ftkit.split_items; print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "[]"


def _answer(body: dict[str, object], attempt: int) -> tuple[str, str]:
    return ("answer", "Price is $99.00")


@pytest.mark.tiktoken
def test_every_stage_through_the_facade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    items = ftkit.load_items("sample").items
    split = ftkit.split_items(items, train=30, validation=5, strategy="random")
    train, validation = ftkit.write_split(split, tmp_path / "out")
    assert ftkit.check_file(train, validation_path=validation).ok

    fake = shared_fake()
    settings = ftkit.ProviderSettings(api_key=KEY, base_url=fake.url)
    client = ftkit.client_from_settings(settings)
    store = ftkit.open_store(f"sqlite:///{tmp_path / 'history.db'}")
    upload = ftkit.upload_file(client, train, endpoint=settings.endpoint)
    trainer = ftkit.open_trainer("openai", client=client, endpoint=settings.endpoint)
    request = ftkit.TrainRequest(training_file=upload.file["id"])
    record = ftkit.store_recorder(store, "ana")
    started = ftkit.start_job(trainer, request, record=record)
    job, _ = ftkit.follow_job(trainer, started.job["id"], interval=0, sleep=lambda _: None)
    assert job["status"] == "succeeded" and job["fine_tuned_model"]

    test = ftkit.load_items("sample", split="test").items[:20]
    with serve(_answer) as chat:
        chat_client = client_from_settings(ProviderSettings(api_key=KEY, base_url=chat.url))
        tuned = ftkit.ChatPredictor(client=chat_client, model=job["fine_tuned_model"])
        result = ftkit.evaluate(test, tuned, model=job["fine_tuned_model"], workers=2)
    mean = ftkit.evaluate(test, ftkit.make_baseline("baseline:mean", split.train), model="mean")
    assert {row.guess for row in result.rows} == {99.0} and len(mean.rows) == 20
    saved, _ = ftkit.save_run(result, tmp_path / "runs")
    assert ftkit.load_run(saved).metrics.average_error == result.metrics.average_error

    (run,) = ftkit.list_runs(store=store)
    assert ftkit.get_run(run.id, store=store).outputs["job_id"] == job["id"]
    ftkit.write_export("together", ftkit.read_jsonl(train), out_dir=tmp_path / "together")
    assert len(ftkit.read_export("together", tmp_path / "together")[0]) == 30


def test_the_docstring_example_is_python_over_public_names() -> None:
    assert ftkit.__doc__ is not None
    example = textwrap.dedent(ftkit.__doc__.split("::", 1)[1])
    tree = ast.parse(example)
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ftkit"
    }
    assert len(used) >= 20 and used <= set(PUBLIC), used - set(PUBLIC)
