"""What upload, fine-tune and evaluate runs record, and re-running a recorded evaluation.

Keys never enter a record: a provider is named by its endpoint URL without any
``user:password@`` or query part, and ``record_run`` drops secret-looking fields besides.
A fine-tuning run is recorded as "running" before its job is created; the job carries the
run's id in its metadata (``ftkit_run_id``), so a job found on the platform links back here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai

from ftkit.chat import DEFAULT_MAX_TOKENS, ChatPredictor
from ftkit.columns import ColumnMapping, mapping_to_json, overrides_from_json
from ftkit.errors import HistoryError
from ftkit.evaluate import Run as Evaluation
from ftkit.evaluate import estimate_cost, evaluate
from ftkit.events import MetricRow
from ftkit.files import UploadResult
from ftkit.history import HistoryStore, Run, RunStatus, get_run, record_run, update_run
from ftkit.holdout import (
    EvaluationItems,
    Scope,
    choose_items,
    split_from_settings,
    split_to_settings,
)
from ftkit.jobs import RUN_ID_KEY, JobInfo, JobSpec
from ftkit.predictors import Predictor, is_baseline, make_baseline, needs_training
from ftkit.recording import UPLOADED, content_hash
from ftkit.runs import save_run
from ftkit.sampling import SplitSettings
from ftkit.sources import SAMPLE

__all__ = [
    "ClientFor",
    "evaluate_outputs",
    "evaluate_settings",
    "evaluate_status",
    "final_metrics",
    "finetune_outputs",
    "finetune_settings",
    "finish_linked_finetune",
    "linked_run_id",
    "pending_linked_run",
    "record_evaluate",
    "record_upload",
    "recorded_endpoint",
    "rerun_evaluate",
    "safe_url",
    "start_finetune",
    "update_finetune",
    "upload_outputs",
    "upload_settings",
]

ClientFor = Callable[[str | None], openai.OpenAI]
_RUN_STATUS: dict[str, RunStatus] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}
_USER_STOPS = ("interrupted", "stopped by the user")
OPENAI_ENDPOINT = "https://api.openai.com/v1"


def safe_url(url: str | None) -> str | None:
    """Return ``url`` without credentials, query or fragment (what a record may show)."""
    if not url or not str(url).strip():
        return None
    parts = urlsplit(str(url).strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")


def _hash_label(digest: str) -> str:
    return digest if digest.startswith("sha256:") else f"sha256:{digest}"


# ---- upload ---------------------------------------------------------------------------------


def upload_settings(result: UploadResult, *, endpoint: str) -> dict[str, Any]:
    """Return the settings an upload records: the file, its content hash, endpoint, purpose."""
    return {
        "file": os.path.abspath(result.path),
        "dataset_hash": content_hash(result.path),  # sha256, as prepare records its files
        "content_key": result.content_key,
        "base_url": safe_url(endpoint),
        "purpose": result.file["purpose"],
    }


def upload_outputs(result: UploadResult) -> dict[str, Any]:
    """Return the outputs an upload records: the file id, size, status, reused or fresh."""
    info = result.file
    return {
        "file_id": info["id"],
        "bytes": info["bytes"],
        "filename": info["filename"],
        "status": info["status"],
        "reused": result.reused,
    }


def record_upload(
    result: UploadResult, *, endpoint: str, user: str, store: HistoryStore | None = None
) -> int:
    """Record a finished (or reused) upload; return the run id."""
    return record_run("upload", upload_settings(result, endpoint=endpoint),
                      upload_outputs(result), user=user, store=store)  # fmt: skip


# ---- fine-tuning ----------------------------------------------------------------------------


def finetune_settings(spec: JobSpec, *, endpoint: str) -> dict[str, Any]:
    """Return the settings a fine-tuning run records: files, model, hyperparameters, seed."""
    wandb = None
    if spec.wandb is not None:
        wandb = {"project": spec.wandb.project, "entity": spec.wandb.entity,
                 "tags": list(spec.wandb.tags)}  # fmt: skip
    return {
        "training_file": spec.training_file,
        "validation_file": spec.validation_file,
        "model": spec.model,
        "hyperparameters": {
            "n_epochs": spec.n_epochs,
            "batch_size": spec.batch_size,
            "learning_rate_multiplier": spec.learning_rate_multiplier,
        },
        "seed": spec.seed,
        "suffix": spec.suffix,
        "base_url": safe_url(endpoint),
        "wandb": wandb,
        "metadata": dict(spec.metadata),
    }


def start_finetune(
    spec: JobSpec, *, endpoint: str, user: str, store: HistoryStore | None = None
) -> int:
    """Record a fine-tuning run as "running" before its job exists; return the run id.

    Pass ``str(run_id)`` as ``create_job``'s ``run_id`` so the job carries it in its metadata.
    """
    return record_run("finetune", finetune_settings(spec, endpoint=endpoint), {}, user=user,
                      status="running", store=store)  # fmt: skip


def final_metrics(rows: Sequence[MetricRow]) -> dict[str, float]:
    """Return each metric's value at the last step that reported it, and that last step."""
    final: dict[str, float] = {}
    for row in rows:
        for name, value in row.items():
            if isinstance(value, int | float):
                final[name] = float(value)
    return final


def finetune_outputs(job: JobInfo, metrics: Sequence[MetricRow] = ()) -> dict[str, Any]:
    """Return the outputs a fine-tuning run records: job id and status, model, tokens, metrics."""
    outputs: dict[str, Any] = {
        "job_id": job["id"],
        "job_status": job["status"],
        RUN_ID_KEY: job["metadata"].get(RUN_ID_KEY),
    }
    if job["fine_tuned_model"]:
        outputs["fine_tuned_model"] = job["fine_tuned_model"]
    if job["trained_tokens"] is not None:
        outputs["trained_tokens"] = job["trained_tokens"]
    if job["error"]:
        outputs["error"] = job["error"]["message"]
    if metrics:
        outputs["metrics"] = final_metrics(metrics)
    return outputs


def update_finetune(
    run_id: int,
    job: JobInfo,
    *,
    metrics: Sequence[MetricRow] = (),
    store: HistoryStore | None = None,
) -> Run:
    """Store what the job is now; the run's status follows the job's once it has finished."""
    status = _RUN_STATUS.get(job["status"], "running")
    return update_run(run_id, outputs=finetune_outputs(job, metrics), status=status, store=store)


def linked_run_id(job: JobInfo) -> int | None:
    """Return the history run id the job carries in its metadata, if it carries one."""
    value = str(job["metadata"].get(RUN_ID_KEY) or "")
    return int(value) if value.isdigit() else None


def pending_linked_run(job: JobInfo, *, store: HistoryStore | None = None) -> Run | None:
    """Return the run that created ``job`` if the job has ended and the run still says running.

    That is the run its metadata names, when it is a fine-tuning run of this very job (another
    database may use the same number for an unrelated run).
    """
    run_id = linked_run_id(job)
    if run_id is None or job["status"] not in _RUN_STATUS:
        return None
    try:
        run = get_run(run_id, store=store)
    except HistoryError:
        return None
    if run.kind != "finetune" or run.outputs.get("job_id") != job["id"]:
        return None
    return run if run.status == "running" else None


def finish_linked_finetune(
    job: JobInfo, *, metrics: Sequence[MetricRow] = (), store: HistoryStore | None = None
) -> Run | None:
    """Record a finished job on the run its metadata names; None when there is nothing to do.

    Nothing is changed unless ``pending_linked_run`` finds that run.
    """
    run = pending_linked_run(job, store=store)
    if run is None:
        return None
    return update_finetune(run.id, job, metrics=metrics, store=store)


# ---- evaluation -----------------------------------------------------------------------------


def evaluate_settings(
    *,
    model: str,
    source: str,
    dataset_hash: str,
    size: int,
    workers: int,
    base_url: str | None = None,
    train_source: str | None = None,
    train_hash: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    prefill: bool = True,
    split: SplitSettings | None = None,
    scored: Scope | None = None,
    scored_items: str | None = None,
    mapping: ColumnMapping | None = None,
) -> dict[str, Any]:
    """Return the settings an evaluation records; enough to run it again.

    ``split`` is the split the held-out items (and the baselines' training items) come from,
    ``scored`` which items were scored ("held-out", "test split" or "test set") and
    ``scored_items`` the line that says so; ``mapping`` the scored table's columns.
    """
    settings: dict[str, Any] = {
        "model": model,
        "source": source,
        "dataset_hash": _hash_label(dataset_hash),
        "size": size,
        "workers": workers,
        "split": split_to_settings(split or SplitSettings()),
    }
    if scored is not None:
        settings.update(scored=scored, scored_items=scored_items)
    if mapping is not None:
        settings["mapping"] = mapping_to_json(mapping)
    if is_baseline(model):
        settings["train_source"] = train_source or SAMPLE
        settings["train_hash"] = _hash_label(train_hash) if train_hash else None
    else:
        settings.update(base_url=safe_url(base_url), max_tokens=max_tokens, prefill=prefill)
    return settings


def evaluate_status(result: Evaluation) -> RunStatus:
    """Return "succeeded", "cancelled" (stopped by the user) or "failed" (the model refused)."""
    if result.stopped is None:
        return "succeeded"
    return "cancelled" if result.stopped in _USER_STOPS else "failed"


def evaluate_outputs(result: Evaluation, *, saved: Path | None = None) -> dict[str, Any]:
    """Return the outputs an evaluation records: the Tester's metrics and the saved JSON."""
    m = result.metrics
    return {
        "metrics": {
            "average_error": round(m.average_error, 4),
            "rmsle": round(m.rmsle, 4),
            "hit_rate_pct": round(m.hit_rate_pct, 2),
            "mse": round(m.mse, 4),
            "r2": None if m.r2 is None else round(m.r2, 4),
            "unparsed": m.unparsed,
            "scored": m.size,
        },
        "requested": result.requested,
        "failed": result.failed,
        "stopped": result.stopped,
        "saved_path": os.path.abspath(saved) if saved else None,
    }


def record_evaluate(
    result: Evaluation,
    settings: Mapping[str, Any],
    *,
    user: str,
    saved: Path | None = None,
    parent_run_id: int | None = None,
    store: HistoryStore | None = None,
) -> int:
    """Record a finished (or stopped) evaluation; return the run id."""
    return record_run("evaluate", settings, evaluate_outputs(result, saved=saved), user=user,
                      status=evaluate_status(result), parent_run_id=parent_run_id,
                      store=store)  # fmt: skip


def _same_content(run: Run, path: str, recorded: Any) -> None:
    if recorded and content_hash(path) != recorded:
        raise HistoryError(
            f"run {run.id}: {path} has changed since it ran (its content hash differs), so the "
            "same settings would not give the same result"
        )


def _check_source(run: Run, source: str, recorded: Any) -> None:
    """Refuse data that is gone (uploaded in the browser) or changed since the run."""
    if source.startswith(UPLOADED):
        raise HistoryError(
            f"run {run.id}: its data ({source.removeprefix(UPLOADED)}) was uploaded in "
            "the browser and is not kept; upload it again on the dashboard to run it again"
        )
    if source != SAMPLE:
        _same_content(run, source, recorded)


def _predictor(
    run: Run, model: str, client_for: ClientFor | None, chosen: EvaluationItems
) -> tuple[Predictor, int]:
    settings = run.settings
    if is_baseline(model):
        return make_baseline(model, chosen.train), 1
    if client_for is None:
        raise HistoryError(f"run {run.id}: re-running asks {model}, which needs an API key "
                           "(set OPENAI_API_KEY, or type a key on the dashboard)")  # fmt: skip
    predictor = ChatPredictor(
        client=client_for(settings.get("base_url")),
        model=model,
        prefill=bool(settings.get("prefill", True)),
        max_tokens=int(settings.get("max_tokens") or DEFAULT_MAX_TOKENS),
    )
    return predictor, int(settings.get("workers") or 1)


def _recorded_items(run: Run, source: str, model: str) -> EvaluationItems:
    """Return the items a recorded run scored and its baselines' training items, again."""
    settings = run.settings
    train = settings.get("train_source") if is_baseline(model) else None
    if train:
        _check_source(run, str(train), settings.get("train_hash"))
    chosen = choose_items(
        source, split=split_from_settings(settings.get("split")),
        train_source=str(train) if train else None, fit_baselines=needs_training(model),
        overrides=overrides_from_json(settings.get("mapping")),
    )  # fmt: skip
    chosen.require(f"run {run.id} cannot be run again")
    return chosen


def recorded_endpoint(run: Run) -> str | None:
    """Return the endpoint a recorded evaluation asked (OpenAI's without a base URL), or None.

    None means a re-run asks no model: another kind of run, or a baseline.
    """
    model = str(run.settings.get("model") or "")
    if run.kind != "evaluate" or not model or is_baseline(model):
        return None
    return safe_url(run.settings.get("base_url")) or OPENAI_ENDPOINT


def rerun_evaluate(
    run: Run,
    *,
    user: str,
    store: HistoryStore | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    client_for: ClientFor | None = None,
) -> int:
    """Evaluate again with a recorded run's settings; record and return the new run's id.

    Baselines need no API. A chat model needs ``client_for(base_url)``, which returns a client
    carrying a key; without it this raises ``HistoryError``, as it does for data that changed
    since or was uploaded in the browser. ``out_dir`` saves the run's JSON and CSV there.
    """
    settings = dict(run.settings)
    model, source = str(settings.get("model") or ""), str(settings.get("source") or SAMPLE)
    if not model:
        raise HistoryError(f"run {run.id}: it records no model to evaluate")
    _check_source(run, source, settings.get("dataset_hash"))
    chosen = _recorded_items(run, source, model)
    predictor, workers = _predictor(run, model, client_for, chosen)
    items = chosen.items[: int(settings.get("size") or 0) or None]
    result = evaluate(items, predictor, model=model, source=source, workers=workers,
                      cost=estimate_cost(items, model))  # fmt: skip
    saved = save_run(result, out_dir)[0] if out_dir is not None and result.rows else None
    return record_evaluate(result, settings, user=user, saved=saved, parent_run_id=run.id,
                           store=store)  # fmt: skip
