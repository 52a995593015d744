"""ftkit: items to chat fine-tuning data, checked, priced, uploaded, trained and measured.

Each stage's entry point is one name here, in the order the data flows; each loads on first
use, so ``import ftkit`` stays light (no SDK, tokenizer, pandas or charts)::

    import ftkit

    items = ftkit.load_items("sample").items                          # load
    split = ftkit.split_items(items, train=500, validation=50)        # dataset
    train, validation = ftkit.write_split(split, "out/")
    report = ftkit.check_file(train, validation_path=validation)      # pre-flight
    print(report.ok, report.estimated_cost_usd)

    settings = ftkit.resolve_settings(ftkit.env_settings())           # training
    client = ftkit.client_from_settings(settings)
    record = ftkit.store_recorder(ftkit.open_store(), "ana")          # history: where, as whom
    upload = ftkit.upload_file(client, train, endpoint=settings.endpoint)
    trainer = ftkit.open_trainer("openai", client=client, endpoint=settings.endpoint)
    request = ftkit.TrainRequest(training_file=upload.file["id"])     # or open_trainer("local")
    started = ftkit.start_job(trainer, request, record=record)
    job, events = ftkit.follow_job(trainer, started.job["id"])

    test = ftkit.load_items("sample", split="test").items[:250]       # evaluation
    tuned = ftkit.ChatPredictor(client=client, model=job["fine_tuned_model"])
    result = ftkit.evaluate(test, tuned, model=job["fine_tuned_model"])
    mean = ftkit.evaluate(test, ftkit.make_baseline("baseline:mean", items), model="mean")
    ftkit.save_run(result, "runs/")
    print(result.metrics.average_error, mean.metrics.average_error)

    print([run.kind for run in ftkit.list_runs()])                    # history
    ftkit.write_export("together", ftkit.read_jsonl(train), out_dir="together/")  # exports
"""

from __future__ import annotations

import importlib
import typing

from ftkit.errors import (
    ApiError,
    CheckError,
    ConfigError,
    CredentialsError,
    EvaluationError,
    ExportCheckError,
    FineTuningClosedError,
    FtkitError,
    HistoryError,
    ModelError,
    OutputError,
    PickleRefusedError,
    PriceTableError,
    ProviderError,
    RetriesExhaustedError,
    SamplingError,
    SourceError,
    TemplateError,
    UploadError,
    WaitTimeoutError,
)
from ftkit.items import Item

if typing.TYPE_CHECKING:
    from ftkit.dataset.jsonl import read_jsonl, write_jsonl
    from ftkit.dataset.messages import Templates, render_examples, render_messages
    from ftkit.dataset.prepare import PrepareResult, prepare, write_split
    from ftkit.dataset.sampling import Split, split_items
    from ftkit.evaluation.chat import ChatPredictor
    from ftkit.evaluation.predictors import BASELINES, Predictor, make_baseline
    from ftkit.evaluation.run import evaluate
    from ftkit.evaluation.saved import compare_runs, load_run, save_run
    from ftkit.evaluation.scoring import Metrics, compute_metrics, score_item
    from ftkit.exports.check import export_support
    from ftkit.exports.files import ExportResult, read_export, write_export
    from ftkit.history.recorder import Recorder, store_recorder
    from ftkit.history.runs import get_run, list_runs
    from ftkit.history.store import HistoryStore, open_store
    from ftkit.preflight.cost import estimate_training_cost, load_prices
    from ftkit.preflight.report import CheckReport
    from ftkit.preflight.scan import check_file
    from ftkit.providers import (
        ProviderSettings,
        client_from_settings,
        env_settings,
        resolve_settings,
    )
    from ftkit.sources.load import ColumnMapping, LoadedItems, load_items
    from ftkit.training.backends import open_trainer
    from ftkit.training.files import UploadResult, upload_file
    from ftkit.training.jobs import (
        JobSpec,
        Wandb,
        cancel_job,
        create_job,
        list_jobs,
        retrieve_job,
        wait_for_job,
    )
    from ftkit.training.launch import Started, start_job
    from ftkit.training.monitor import follow_job
    from ftkit.training.shutdown import list_models
    from ftkit.training.trainer import Trainer, TrainRequest

# Every name loaded on first use, and the module it comes from, by stage.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("ColumnMapping", "LoadedItems", "load_items"), "ftkit.sources.load"),
    **dict.fromkeys(("read_jsonl", "write_jsonl"), "ftkit.dataset.jsonl"),
    **dict.fromkeys(("Templates", "render_examples", "render_messages"), "ftkit.dataset.messages"),
    **dict.fromkeys(("PrepareResult", "prepare", "write_split"), "ftkit.dataset.prepare"),
    **dict.fromkeys(("Split", "split_items"), "ftkit.dataset.sampling"),
    "CheckReport": "ftkit.preflight.report",
    "check_file": "ftkit.preflight.scan",
    **dict.fromkeys(("estimate_training_cost", "load_prices"), "ftkit.preflight.cost"),
    **dict.fromkeys(
        ("ProviderSettings", "client_from_settings", "env_settings", "resolve_settings"),
        "ftkit.providers",
    ),
    **dict.fromkeys(("UploadResult", "upload_file"), "ftkit.training.files"),
    **dict.fromkeys(
        (
            "JobSpec",
            "Wandb",
            "cancel_job",
            "create_job",
            "list_jobs",
            "retrieve_job",
            "wait_for_job",
        ),
        "ftkit.training.jobs",
    ),
    **dict.fromkeys(("Started", "start_job"), "ftkit.training.launch"),
    **dict.fromkeys(("TrainRequest", "Trainer"), "ftkit.training.trainer"),
    "open_trainer": "ftkit.training.backends",
    "follow_job": "ftkit.training.monitor",
    "list_models": "ftkit.training.shutdown",
    "evaluate": "ftkit.evaluation.run",
    "ChatPredictor": "ftkit.evaluation.chat",
    **dict.fromkeys(("BASELINES", "Predictor", "make_baseline"), "ftkit.evaluation.predictors"),
    **dict.fromkeys(("Metrics", "compute_metrics", "score_item"), "ftkit.evaluation.scoring"),
    **dict.fromkeys(("compare_runs", "load_run", "save_run"), "ftkit.evaluation.saved"),
    **dict.fromkeys(("HistoryStore", "open_store"), "ftkit.history.store"),
    **dict.fromkeys(("get_run", "list_runs"), "ftkit.history.runs"),
    **dict.fromkeys(("Recorder", "store_recorder"), "ftkit.history.recorder"),
    "export_support": "ftkit.exports.check",
    **dict.fromkeys(("ExportResult", "read_export", "write_export"), "ftkit.exports.files"),
}

__all__ = [
    "BASELINES",
    "ApiError",
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
__version__ = "0.1.0"


def __getattr__(name: str) -> typing.Any:
    """Load a stage's name on first use: the SDK, tokenizer and charts only when asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ftkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
