"""What each kind of run records, and re-running a recorded run with the same settings.

Settings hold what is needed to do the run again (the dataset's content hash, seed, strategy,
sizes, templates, model, hyperparameters); outputs hold what it produced (files, ids, metrics).

Keys never enter a record: a provider is named by its endpoint URL without any
``user:password@`` or query part, and ``record_run`` drops secret-looking fields besides.
A fine-tuning run is recorded as "running" before its job is created; the job carries the
run's id in its metadata (``ftkit_run_id``), so a job found on the platform links back here.
The SDK and the evaluation code are imported only by the functions that need them, so that
``prepare`` and ``validate`` start without loading them.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ftkit.dataset.messages import Templates
from ftkit.dataset.prepare import PrepareResult, prepare
from ftkit.dataset.sampling import STRATEGIES, SplitSettings, Strategy
from ftkit.errors import FtkitError, HistoryError, OutputError
from ftkit.evaluation.holdout import (
    EvaluationItems,
    Scope,
    choose_items,
    split_from_settings,
    split_to_settings,
)
from ftkit.evaluation.predictors import Predictor, is_baseline, make_baseline, needs_training
from ftkit.history import HistoryStore, Run, RunStatus, get_run, record_run, update_run
from ftkit.preflight.report import CheckReport, report_to_json
from ftkit.preflight.scan import check_file
from ftkit.sources.columns import mapping_to_json, overrides_from_json
from ftkit.sources.load import PICKLE_SUFFIXES, SAMPLE, ColumnMapping, content_hash, load_items

if TYPE_CHECKING:  # the SDK is heavy: loaded only by the commands that talk to an API
    import openai

    from ftkit.evaluation.run import Run as Evaluation
    from ftkit.training.events import MetricRow
    from ftkit.training.files import UploadResult
    from ftkit.training.jobs import JobInfo, JobSpec
    from ftkit.training.trainer import TrainRequest

__all__ = [
    "DEFAULT_RUNS_DIR",
    "RERUNNABLE",
    "UPLOADED",
    "ClientFor",
    "content_hash",
    "current_user",
    "evaluate_outputs",
    "evaluate_settings",
    "evaluate_status",
    "final_metrics",
    "finetune_outputs",
    "finetune_settings",
    "finish_linked_finetune",
    "linked_run_id",
    "local_sources",
    "pending_linked_run",
    "prepare_outputs",
    "prepare_settings",
    "record_evaluate",
    "record_prepare",
    "record_upload",
    "record_validate",
    "recorded_endpoint",
    "request_settings",
    "rerun",
    "rerun_evaluate",
    "safe_url",
    "start_finetune",
    "update_finetune",
    "upload_outputs",
    "upload_settings",
    "validate_outputs",
    "validate_settings",
]

RERUNNABLE = ("prepare", "validate", "evaluate")
UPLOADED = "upload:"  # a dataset uploaded in the browser: recorded by name, not kept
DEFAULT_RUNS_DIR = Path(".ftkit") / "runs"
ClientFor = Callable[[str | None], "openai.OpenAI"]


def current_user() -> str:
    """Return who runs the CLI: ``$FTKIT_USER``, else the login name."""
    try:
        return os.environ.get("FTKIT_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def prepare_settings(
    source: str | os.PathLike[str],
    *,
    train: int,
    validation: int,
    seed: int,
    strategy: Strategy,
    templates: Templates,
    out_dir: str | os.PathLike[str],
    mapping: ColumnMapping | None = None,
    dataset_hash: str | None = None,
) -> dict[str, Any]:
    """Return the settings a prepare run records; enough to repeat it."""
    return {
        "source": str(source) if str(source) == SAMPLE else os.path.abspath(source),
        "dataset_hash": dataset_hash or content_hash(source),
        "sizes": {"train": train, "validation": validation},
        "seed": seed,
        "strategy": strategy,
        "templates": asdict(templates),
        "mapping": asdict(mapping) if mapping else None,
        "out_dir": os.path.abspath(out_dir),
    }


def prepare_outputs(result: PrepareResult) -> dict[str, Any]:
    """Return the outputs a prepare run records."""
    return {
        "train_path": os.path.abspath(result.train_path),
        "validation_path": os.path.abspath(result.validation_path)
        if result.validation_path
        else None,
        "train_count": result.train_count,
        "validation_count": result.validation_count,
        "loaded": result.loaded,
        "rows": result.rows,
        "skipped_duplicates": result.skipped_duplicates,
        "train_hash": result.train_sha256 or content_hash(result.train_path),
    }


def record_prepare(
    result: PrepareResult,
    settings: dict[str, Any],
    *,
    user: str,
    parent_run_id: int | None = None,
    store: HistoryStore | None = None,
) -> int:
    """Record a finished prepare run; return its id."""
    outputs = prepare_outputs(result)
    return record_run(
        "prepare", settings, outputs, user=user, parent_run_id=parent_run_id, store=store
    )


def validate_settings(
    path: str | os.PathLike[str],
    *,
    validation_path: str | os.PathLike[str] | None,
    model: str,
    epochs: int | None,
) -> dict[str, Any]:
    """Return the settings a validate run records."""
    return {
        "file": os.path.abspath(path),
        "dataset_hash": content_hash(path),
        "validation_file": os.path.abspath(validation_path) if validation_path else None,
        "validation_hash": content_hash(validation_path) if validation_path else None,
        "model": model,
        "hyperparameters": {"n_epochs": epochs if epochs is not None else "auto"},
    }


def validate_outputs(report: CheckReport) -> dict[str, Any]:
    """Return the outputs a validate run records: verdict, counts, tokens and cost."""
    data = report_to_json(report)
    return {
        "ok": data["ok"],
        "metrics": {
            "examples": data["examples"],
            "validation_examples": data["validation_examples"],
            "errors": data["error_count"],
            "warnings": data["warning_count"],
            "epochs": data["epochs"],
            "billed_tokens": data["billed_tokens"],
            "estimated_cost_usd": data["estimated_cost_usd"],
        },
        "prices_as_of": data["prices_as_of"],
    }


def record_validate(
    report: CheckReport,
    settings: dict[str, Any],
    *,
    user: str,
    parent_run_id: int | None = None,
    store: HistoryStore | None = None,
) -> int:
    """Record a finished pre-flight check; a report with errors is recorded as failed."""
    return record_run(
        "validate",
        settings,
        validate_outputs(report),
        user=user,
        status="succeeded" if report.ok else "failed",
        parent_run_id=parent_run_id,
        store=store,
    )


def _same_dataset(run: Run, path: str, recorded: Any) -> None:
    """Refuse ``path`` when its content hash differs from the ``recorded`` one."""
    if recorded and content_hash(path) != recorded:
        raise HistoryError(
            f"run {run.id}: {path} has changed since it ran (its content hash differs), so the "
            "same settings would not give the same result"
        )


def _prepare_again(run: Run, settings: dict[str, Any], *, allow_pickle: bool) -> PrepareResult:
    """Prepare with a run's recorded source, sizes, seed, strategy, templates and mapping."""
    source = str(settings.get("source", SAMPLE))
    if source.startswith(UPLOADED):
        raise HistoryError(
            f"run {run.id}: its dataset ({source.removeprefix(UPLOADED)}) was uploaded in the "
            "browser and is not kept; load it again on the Data page to prepare it again"
        )
    _same_dataset(run, source, run.settings.get("dataset_hash"))
    loaded = None
    if source.lower().endswith(PICKLE_SUFFIXES):  # hosted mode refuses these
        loaded = load_items(source, allow_pickle=allow_pickle)
    strategy = settings.get("strategy", "first")
    if strategy not in STRATEGIES:
        raise HistoryError(f"run {run.id}: unknown sampling strategy {strategy!r}")
    mapping = settings.get("mapping")
    sizes = settings.get("sizes", {})
    return prepare(
        source,
        train=int(sizes.get("train", 500)),
        validation=int(sizes.get("validation", 50)),
        seed=int(settings.get("seed", 42)),
        strategy=strategy,
        templates=Templates(**settings.get("templates", {})),
        out_dir=Path(settings.get("out_dir", ".")),
        loaded=loaded,
        mapping=ColumnMapping(**{**mapping, "text": tuple(mapping.get("text", ()))})
        if mapping
        else None,
    )


def _rerun_prepare(
    run: Run, *, user: str, store: HistoryStore | None, out_dir: Path | None, allow_pickle: bool
) -> int:
    settings = dict(run.settings)
    if out_dir is not None:
        settings["out_dir"] = os.path.abspath(out_dir)
    result = _prepare_again(run, settings, allow_pickle=allow_pickle)
    return record_prepare(result, settings, user=user, parent_run_id=run.id, store=store)


def _epochs(settings: dict[str, Any]) -> int | None:
    epochs = settings.get("hyperparameters", {}).get("n_epochs")
    return epochs if isinstance(epochs, int) else None


def _rerun_composed_check(
    run: Run, *, user: str, store: HistoryStore | None, allow_pickle: bool
) -> int:
    """Check again a split the dashboard composed: write it to a temporary folder first."""
    with tempfile.TemporaryDirectory(prefix="ftkit-rerun-") as folder:
        written = _prepare_again(
            run, {**run.settings, "out_dir": folder}, allow_pickle=allow_pickle
        )
        report = check_file(
            written.train_path,
            validation_path=written.validation_path,
            model=str(run.settings["model"]),
            epochs=_epochs(run.settings),
        )
    return record_validate(report, run.settings, user=user, parent_run_id=run.id, store=store)


def _rerun_validate(run: Run, *, user: str, store: HistoryStore | None, allow_pickle: bool) -> int:
    settings = run.settings
    if "file" not in settings:
        return _rerun_composed_check(run, user=user, store=store, allow_pickle=allow_pickle)
    path = str(settings["file"])
    _same_dataset(run, path, run.settings.get("dataset_hash"))
    epochs = _epochs(settings)
    report = check_file(
        path,
        validation_path=settings.get("validation_file"),
        model=str(settings["model"]),
        epochs=epochs,
    )
    new_settings = validate_settings(
        path,
        validation_path=settings.get("validation_file"),
        model=str(settings["model"]),
        epochs=epochs,
    )
    return record_validate(report, new_settings, user=user, parent_run_id=run.id, store=store)


def _is_path(source: object) -> bool:
    text = str(source or "")
    return bool(text) and text != SAMPLE and not text.startswith(UPLOADED)


def local_sources(run: Run) -> list[str]:
    """Return the files on this computer a re-run of ``run`` would read (not the sample)."""
    settings = run.settings
    if run.kind == "validate" and "file" in settings:
        names = [settings.get("file"), settings.get("validation_file")]
    elif run.kind == "evaluate":
        names = [settings.get("source"), settings.get("train_source")]
    else:
        names = [settings.get("source", SAMPLE)]
    return [str(name) for name in names if _is_path(name)]


def _refuse_paths(run: Run) -> None:
    found = local_sources(run)
    if found:
        raise HistoryError(
            f"run {run.id}: it reads {Path(found[0]).name} from the server's disk, which a hosted "
            "dashboard does not do; load the data on the Data page and run it there"
        )


def rerun(
    run: Run,
    *,
    user: str,
    store: HistoryStore | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    allow_pickle: bool = True,
    allow_paths: bool = True,
    client_for: Callable[[str | None], openai.OpenAI] | None = None,
) -> int:
    """Do a recorded prepare, validate or evaluate run again; record and return the new id.

    ``out_dir`` sends a prepare's files (an evaluation's saved JSON and CSV) elsewhere (hosted
    mode: the user's own folder); ``allow_pickle=False`` refuses a pickle source;
    ``allow_paths=False`` (hosted mode) refuses any run that reads a file (``local_sources``);
    ``client_for(base_url)`` returns a client for re-running a chat model's evaluation
    (baselines need none); it is passed the recorded endpoint, which a caller may ignore.
    Raises ``HistoryError`` when the dataset's content changed since, a chat model has no
    client, or for a kind that cannot be re-run here; other ``FtkitError`` subclasses come from
    the run itself.
    """
    if run.damaged:
        raise HistoryError(f"run {run.id}: cannot be re-run, its record is damaged ({run.damaged})")
    try:
        return _rerun_kind(run, user, store, out_dir, allow_pickle, allow_paths, client_for)
    except KeyError as err:
        raise HistoryError(
            f"run {run.id}: cannot be re-run, its recorded settings lack {err.args[0]!r}"
        ) from None


def _rerun_kind(
    run: Run,
    user: str,
    store: HistoryStore | None,
    out_dir: str | os.PathLike[str] | None,
    allow_pickle: bool,
    allow_paths: bool,
    client_for: Callable[[str | None], openai.OpenAI] | None,
) -> int:
    """Dispatch ``rerun`` by the run's kind."""
    if not allow_paths:
        _refuse_paths(run)
    if run.kind == "prepare":
        folder = Path(out_dir) if out_dir is not None else None
        return _rerun_prepare(
            run, user=user, store=store, out_dir=folder, allow_pickle=allow_pickle
        )
    if run.kind == "validate":
        return _rerun_validate(run, user=user, store=store, allow_pickle=allow_pickle)
    if run.kind == "evaluate":
        runs_dir = out_dir if out_dir is not None else DEFAULT_RUNS_DIR
        return rerun_evaluate(run, user=user, store=store, client_for=client_for, out_dir=runs_dir)
    raise HistoryError(
        f"run {run.id}: {run.kind} runs cannot be re-run from the history "
        f"(only {', '.join(RERUNNABLE)} can)"
    )


_RUN_STATUS: dict[str, RunStatus] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}
_USER_STOPS = ("interrupted", "stopped by the user")


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
    return record_run(
        "upload",
        upload_settings(result, endpoint=endpoint),
        upload_outputs(result),
        user=user,
        store=store,
    )


# ---- fine-tuning ----------------------------------------------------------------------------


def finetune_settings(spec: JobSpec, *, endpoint: str, backend: str = "openai") -> dict[str, Any]:
    """Return the settings an OpenAI fine-tuning run records: files, model, hyperparameters."""
    wandb = None
    if spec.wandb is not None:
        wandb = {
            "project": spec.wandb.project,
            "entity": spec.wandb.entity,
            "tags": list(spec.wandb.tags),
        }
    return {
        "backend": backend,
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


def request_settings(request: TrainRequest, *, backend: str, endpoint: str = "") -> dict[str, Any]:
    """Return the settings any other backend's run records: files, base model, hyperparameters."""
    return {
        "backend": backend,
        "training_file": request.training_file,
        "validation_file": request.validation_file,
        "model": request.base_model,
        "hyperparameters": {
            "n_epochs": request.epochs,
            "max_steps": request.max_steps,
            "batch_size": request.batch_size,
            "learning_rate": request.learning_rate,
            "lora_r": request.lora_r,
            "lora_alpha": request.lora_alpha,
            "qlora": request.qlora,
        },
        "seed": request.seed,
        "suffix": request.suffix,
        "base_url": safe_url(endpoint) if endpoint else None,
        "out": request.out,
        "merge": request.merge,
    }


def start_finetune(
    settings: Mapping[str, Any], *, user: str, store: HistoryStore | None = None
) -> int:
    """Record a fine-tuning run as "running" before its job exists; return the run id.

    ``settings`` come from ``finetune_settings`` or ``request_settings``. Pass ``str(run_id)``
    as the trainer's ``run_id`` so the job carries it.
    """
    return record_run("finetune", dict(settings), {}, user=user, status="running", store=store)


def final_metrics(rows: Sequence[MetricRow]) -> dict[str, float]:
    """Return each metric's value at the last step that reported it, and that last step."""
    final: dict[str, float] = {}
    for row in rows:
        for name, value in row.items():
            if isinstance(value, int | float):
                final[name] = float(value)
    return final


def finetune_outputs(job: JobInfo, metrics: Sequence[MetricRow] = ()) -> dict[str, Any]:
    """Return the outputs a fine-tuning run records: job id and status, model, tokens, metrics.

    ``model`` is what the Tester takes (``ft:...`` or ``local:DIR``); ``steps`` is the last step
    with metrics.
    """
    from ftkit.training.jobs import RUN_ID_KEY

    outputs: dict[str, Any] = {
        "job_id": job["id"],
        "job_status": job["status"],
        RUN_ID_KEY: job["metadata"].get(RUN_ID_KEY),
    }
    if job["fine_tuned_model"]:
        outputs["fine_tuned_model"] = outputs["model"] = job["fine_tuned_model"]
    if job["trained_tokens"] is not None:
        outputs["trained_tokens"] = job["trained_tokens"]
    if job["error"]:
        outputs["error"] = job["error"]["message"]
    if metrics:
        outputs["metrics"] = final_metrics(metrics)
        outputs["steps"] = max(row.get("step", 0) for row in metrics)
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
    from ftkit.training.jobs import RUN_ID_KEY

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
    max_tokens: int | None = None,
    prefill: bool = True,
    split: SplitSettings | None = None,
    scored: Scope | None = None,
    scored_items: str | None = None,
    mapping: ColumnMapping | None = None,
) -> dict[str, Any]:
    """Return the settings an evaluation records; enough to run it again.

    ``split`` is the split the held-out items (and the baselines' training items) come from,
    ``scored`` which items were scored ("held-out", "test split" or "test set") and
    ``scored_items`` the line that says so; ``mapping`` the scored table's columns;
    ``max_tokens`` defaults to the chat predictor's.
    """
    from ftkit.evaluation.chat import DEFAULT_MAX_TOKENS

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
        settings.update(
            base_url=safe_url(base_url),
            max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
            prefill=prefill,
        )
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
    return record_run(
        "evaluate",
        settings,
        evaluate_outputs(result, saved=saved),
        user=user,
        status=evaluate_status(result),
        parent_run_id=parent_run_id,
        store=store,
    )


def _check_source(run: Run, source: str, recorded: Any) -> None:
    """Refuse data that is gone (uploaded in the browser) or changed since the run."""
    if source.startswith(UPLOADED):
        raise HistoryError(
            f"run {run.id}: its data ({source.removeprefix(UPLOADED)}) was uploaded in "
            "the browser and is not kept; upload it again on the dashboard to run it again"
        )
    if source != SAMPLE:
        _same_dataset(run, source, recorded)


def _predictor(
    run: Run, model: str, client_for: ClientFor | None, chosen: EvaluationItems
) -> tuple[Predictor, int]:
    from ftkit.evaluation.chat import DEFAULT_MAX_TOKENS, ChatPredictor

    settings = run.settings
    if is_baseline(model):
        return make_baseline(model, chosen.train), 1
    if client_for is None:
        raise HistoryError(
            f"run {run.id}: re-running asks {model}, which needs an API key "
            "(set OPENAI_API_KEY, or type a key on the dashboard)"
        )
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
        source,
        split=split_from_settings(settings.get("split")),
        train_source=str(train) if train else None,
        fit_baselines=needs_training(model),
        overrides=overrides_from_json(settings.get("mapping")),
    )
    chosen.require(f"run {run.id} cannot be run again")
    return chosen


def recorded_endpoint(run: Run) -> str | None:
    """Return the endpoint a recorded evaluation asked (OpenAI's without a base URL), or None.

    None means a re-run asks no model: another kind of run, or a baseline.
    """
    from ftkit.endpoints import OPENAI_ENDPOINT

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
    from ftkit.evaluation.run import estimate_cost, evaluate
    from ftkit.evaluation.saved import save_run

    settings = dict(run.settings)
    model, source = str(settings.get("model") or ""), str(settings.get("source") or SAMPLE)
    if not model:
        raise HistoryError(f"run {run.id}: it records no model to evaluate")
    _check_source(run, source, settings.get("dataset_hash"))
    chosen = _recorded_items(run, source, model)
    predictor, workers = _predictor(run, model, client_for, chosen)
    items = chosen.items[: int(settings.get("size") or 0) or None]
    result = evaluate(
        items,
        predictor,
        model=model,
        source=source,
        workers=workers,
        cost=estimate_cost(items, model),
    )
    saved, not_saved = None, None
    if out_dir is not None and result.rows:
        try:
            saved = save_run(result, out_dir)[0]
        except FtkitError as err:  # a paid run is recorded even when its files cannot be
            not_saved = err
    new_id = record_evaluate(
        result, settings, user=user, saved=saved, parent_run_id=run.id, store=store
    )
    if not_saved is not None:
        raise OutputError(
            f"re-run recorded as run {new_id}, but its files were not saved: {not_saved}"
        )
    return new_id
