"""What each kind of run records, and re-running a recorded run with the same settings.

Settings hold what is needed to do the run again (the dataset's content hash, seed, strategy,
sizes, templates, model, hyperparameters); outputs hold what it produced (files, ids, metrics).
"""

from __future__ import annotations

import getpass
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftkit.check import check_file
from ftkit.errors import HistoryError
from ftkit.history import HistoryStore, Run, record_run
from ftkit.messages import Templates
from ftkit.prepare import PrepareResult, prepare
from ftkit.report import CheckReport, report_to_json
from ftkit.sampling import STRATEGIES, Strategy
from ftkit.sources import PICKLE_SUFFIXES, SAMPLE, ColumnMapping, content_hash, load_items

if TYPE_CHECKING:  # the SDK is heavy: loaded only by the commands that talk to an API
    import openai

__all__ = [
    "DEFAULT_RUNS_DIR",
    "RERUNNABLE",
    "UPLOADED",
    "content_hash",
    "current_user",
    "local_sources",
    "prepare_outputs",
    "prepare_settings",
    "record_prepare",
    "record_validate",
    "rerun",
    "validate_outputs",
    "validate_settings",
]

RERUNNABLE = ("prepare", "validate", "evaluate")
UPLOADED = "upload:"  # a dataset uploaded in the browser: recorded by name, not kept
DEFAULT_RUNS_DIR = Path(".ftkit") / "runs"


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
    return record_run("prepare", settings, outputs, user=user, parent_run_id=parent_run_id,
                      store=store)  # fmt: skip


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
    return record_run("validate", settings, validate_outputs(report), user=user,
                      status="succeeded" if report.ok else "failed",
                      parent_run_id=parent_run_id, store=store)  # fmt: skip


def _same_dataset(run: Run, path: str) -> None:
    recorded = run.settings.get("dataset_hash")
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
    _same_dataset(run, source)
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
        written = _prepare_again(run, {**run.settings, "out_dir": folder},
                                 allow_pickle=allow_pickle)  # fmt: skip
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
    _same_dataset(run, path)
    epochs = _epochs(settings)
    report = check_file(
        path,
        validation_path=settings.get("validation_file"),
        model=str(settings["model"]),
        epochs=epochs,
    )
    new_settings = validate_settings(
        path, validation_path=settings.get("validation_file"), model=str(settings["model"]),
        epochs=epochs,
    )  # fmt: skip
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
        from ftkit.recorders import rerun_evaluate

        runs_dir = out_dir if out_dir is not None else DEFAULT_RUNS_DIR
        return rerun_evaluate(run, user=user, store=store, client_for=client_for, out_dir=runs_dir)
    raise HistoryError(
        f"run {run.id}: {run.kind} runs cannot be re-run from the history "
        f"(only {', '.join(RERUNNABLE)} can)"
    )
