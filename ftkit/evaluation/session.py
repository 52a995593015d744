"""An evaluation as the dashboard runs it: confirm the cost, keep what a cut run scored, record.

A chat run is confirmed against ``run_signature`` (endpoint and key, model, items, workers), so a
change after the review asks for another review. While a run goes, ``evaluate_tracked`` copies
each scored item into a plain ``partial`` dict the caller keeps (session state); if the run is
cut short, ``settle_partial`` turns that dict into a saved run and one line saying what happened.
``record_evaluation`` records a finished run through the caller's ``Recorder``.

A ``local:DIR`` model is loaded by ``local_predictor`` (in hosted mode only from a folder inside
the session's workspace); the run goes by the predictor's ``name`` and asks one batch at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftkit.errors import EvaluationError
from ftkit.evaluation.chat import DEFAULT_MAX_TOKENS
from ftkit.evaluation.local import DEFAULT_BATCH_SIZE, is_local, resolve_local
from ftkit.evaluation.predictors import Predictor, is_baseline
from ftkit.evaluation.run import CostEstimate, Progress, Run, evaluate
from ftkit.evaluation.saved import run_to_json
from ftkit.history.recorder import Recorder
from ftkit.history.recording import evaluate_settings, record_evaluate
from ftkit.items import Item
from ftkit.providers import ProviderSettings
from ftkit.workspace import scrub_paths

if TYPE_CHECKING:
    from ftkit.evaluation.local_predictor import LocalPredictor

__all__ = [
    "evaluate_tracked",
    "local_predictor",
    "new_partial",
    "record_evaluation",
    "run_signature",
    "settle_partial",
    "workers_for",
]


def workers_for(model: str, workers: int) -> int:
    """Return the requests in flight: one for a baseline or a local model, else ``workers``."""
    return 1 if is_baseline(model) or is_local(model) else int(workers)


def local_predictor(
    model: str,
    *,
    workspace: Path | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    prefill: bool = True,
) -> LocalPredictor:
    """Load ``local:DIR``; the run's model name is the returned predictor's ``name``.

    In hosted mode (``workspace`` given) DIR must be a folder inside the workspace, a Hub base
    model comes only from the server's cache, and no message shows the workspace's path.
    Raises ``EvaluationError`` with one line.
    """
    from ftkit.evaluation.local_predictor import load_local

    try:
        resolved = resolve_local(model, workspace=workspace)
        return load_local(
            resolved,
            batch_size=batch_size,
            max_tokens=max_tokens,
            prefill=prefill,
            local_files_only=workspace is not None,
        )
    except EvaluationError as err:
        if workspace is None:
            raise
        raise EvaluationError(scrub_paths(str(err), workspace)) from None


def run_signature(
    settings: ProviderSettings, *, model: str, source: str, workers: int, items: Sequence[Item]
) -> str:
    """Return a hash of what a confirmed run promised: endpoint and key, model, items, workers."""
    titles = "\x1f".join(f"{item.title}\x1e{item.price}" for item in items)
    keys = "\x1f".join(settings.secrets())  # whose account pays; only this hash is kept
    text = (
        f"{settings.endpoint}|{settings.kind}|{settings.api_version}|{keys}|{model}|{source}|"
        f"{int(workers)}|{titles}"
    )
    return hashlib.sha256(text.encode()).hexdigest()


def new_partial(model: str, source: str, requested: int) -> dict[str, Any]:
    """Return an empty run as plain data, to collect scored items into as they land."""
    return {**run_to_json(Run(model, source, requested, ())), "items": []}


def evaluate_tracked(
    items: Sequence[Item],
    predictor: Predictor,
    *,
    model: str,
    source: str,
    workers: int,
    cost: CostEstimate | None,
    partial: dict[str, Any],
    on_progress: Callable[[Progress], None],
) -> Run:
    """Evaluate as ``evaluate`` does, copying each scored item into ``partial`` first."""

    def track(progress: Progress) -> None:
        if (last := progress.last) is not None:
            partial["items"].append(
                {
                    "title": last.title,
                    "truth": last.truth,
                    "guess": last.guess,
                    "parsed": last.parsed,
                    "answer": last.answer,
                }
            )
        on_progress(progress)

    return evaluate(
        items,
        predictor,
        model=model,
        source=source,
        workers=workers_for(model, workers),
        on_progress=track,
        cost=cost,
    )


def settle_partial(
    partial: Mapping[str, Any], *, by_user: bool
) -> tuple[dict[str, Any] | None, str]:
    """Return a cut-short run to keep (None if nothing was scored) and the line that says so."""
    how = "stopped by the user" if by_user else "interrupted"
    done = len(partial["items"])
    kept = f"its {done} scored items are kept" if done else "no item was scored yet"
    line = f"The last run was {how} after {done} of {partial['requested']} items; {kept}."
    return ({**partial, "stopped": how} if done else None), line


def record_evaluation(
    result: Run,
    *,
    provider: ProviderSettings,
    size: int,
    workers: int,
    fields: Mapping[str, Any],
    record: Recorder,
) -> int | None:
    """Record a finished (or stopped) run; the endpoint only for a chat model not on OpenAI.

    ``fields`` are the ``evaluate_settings`` arguments saying what was scored and trained on.
    """
    asked_api = not is_baseline(result.model) and not is_local(result.model)
    endpoint = provider.endpoint if asked_api and provider.kind != "openai" else None
    settings = evaluate_settings(
        model=result.model,
        size=size,
        workers=workers_for(result.model, workers),
        base_url=endpoint,
        **fields,
    )
    return record(lambda store, user: record_evaluate(result, settings, user=user, store=store))
