"""Saved runs: one JSON file (metrics and items) plus a CSV of the items, reopened to compare.

The JSON object is also what ``python -m ftkit evaluate --json`` prints (``RunJSON``). A run is
saved whole or not at all: both files, every number finite, or an ``FtkitError`` naming the path.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

import orjson

from ftkit.dataset.jsonl import atomic_writer
from ftkit.errors import EvaluationError
from ftkit.evaluation.run import CostEstimate, Run
from ftkit.evaluation.scoring import Scored, score_item
from ftkit.sources.prices import MAX_PRICE

__all__ = [
    "CSV_COLUMNS",
    "MAX_RUN_FILE_MB",
    "ComparisonRow",
    "ItemJSON",
    "RunJSON",
    "compare_runs",
    "load_run",
    "run_filename",
    "run_from_bytes",
    "run_from_json",
    "run_to_csv",
    "run_to_json",
    "save_run",
]

CSV_COLUMNS = ("title", "truth", "guess", "error", "sle", "color", "parsed", "answer")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet runs as a formula
MAX_RUN_FILE_MB = 10  # a saved run is parsed whole: tens of thousands of items fit
MAX_STEM_MODEL, MAX_STEM_TIME = 120, 20  # "20261206T002717" is 15
MAX_COUNT = 10**12  # items, tokens or dollars a saved run may claim


class ItemJSON(TypedDict):
    """One scored item as saved and printed."""

    title: str
    truth: float
    guess: float
    error: float
    sle: float
    color: str
    parsed: bool
    answer: str | None


class BandJSON(TypedDict):
    band: str
    count: int
    average_error: float
    rmsle: float
    hit_rate_pct: float


class RunJSON(TypedDict):
    """A run as saved and printed: what was asked, the metrics and every scored item."""

    model: str
    source: str
    created: str
    size: int
    requested: int
    failed: int
    stopped: str | None
    elapsed_s: float
    average_error: float
    rmsle: float
    hit_rate_pct: float
    mse: float
    r2: float | None
    unparsed: int
    colors: dict[str, int]
    by_band: list[BandJSON]
    input_tokens: int
    output_tokens: int
    cost_estimate: dict[str, Any] | None
    items: list[ItemJSON]


def run_to_json(run: Run) -> RunJSON:
    """Return the run as a JSON-ready dict (floats rounded to cents or four places)."""
    m = run.metrics
    return RunJSON(
        model=run.model,
        source=run.source,
        created=run.created,
        size=m.size,
        requested=run.requested,
        failed=run.failed,
        stopped=run.stopped,
        elapsed_s=run.elapsed_s,
        average_error=round(m.average_error, 4),
        rmsle=round(m.rmsle, 4),
        hit_rate_pct=round(m.hit_rate_pct, 2),
        mse=round(m.mse, 4),
        r2=None if m.r2 is None else round(m.r2, 4),
        unparsed=m.unparsed,
        colors=m.colors,
        by_band=[
            BandJSON(
                band=b.band,
                count=b.count,
                average_error=round(b.average_error, 4),
                rmsle=round(b.rmsle, 4),
                hit_rate_pct=round(b.hit_rate_pct, 2),
            )
            for b in m.by_band
        ],
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        cost_estimate=None if run.cost is None else vars(run.cost).copy(),
        items=[
            ItemJSON(
                title=r.title,
                truth=r.truth,
                guess=r.guess,
                error=round(r.error, 4),
                sle=round(r.sle, 6),
                color=r.color,
                parsed=r.parsed,
                answer=r.answer,
            )
            for r in run.rows
        ],
    )


def _row(raw: Any, where: str) -> Scored:
    if not isinstance(raw, dict):
        raise EvaluationError(f"{where}: must be an object")
    try:
        truth, guess = float(raw["truth"]), float(raw["guess"])
        title = str(raw["title"])
    except (KeyError, TypeError, ValueError):
        raise EvaluationError(f"{where}: needs title, truth and guess") from None
    if not 0 < truth <= MAX_PRICE:
        raise EvaluationError(f"{where}: truth must be a positive price up to ${MAX_PRICE:,.0f}")
    answer = raw.get("answer")
    scored = score_item(title, truth, guess, answer=answer if isinstance(answer, str) else None)
    return replace(scored, parsed=False) if raw.get("parsed") is False else scored


def run_from_json(data: Any, *, label: str = "run") -> Run:
    """Return the run in ``data`` (a ``RunJSON``); metrics are recomputed from the items."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise EvaluationError(f"{label}: not a saved ftkit run (no items list)")
    if not isinstance(data.get("model"), str):
        raise EvaluationError(f"{label}: not a saved ftkit run (no model name)")
    rows = tuple(_row(raw, f"{label}: items[{i}]") for i, raw in enumerate(data["items"]))
    stopped = data.get("stopped")
    return Run(
        model=data["model"],
        source=str(data.get("source", "")),
        requested=_count(data, "requested", len(rows), label),
        rows=rows,
        failed=_count(data, "failed", 0, label),
        stopped=stopped if isinstance(stopped, str) else None,
        created=str(data.get("created", "")),
        elapsed_s=_seconds(data.get("elapsed_s", 0.0), label),
        input_tokens=_count(data, "input_tokens", 0, label),
        output_tokens=_count(data, "output_tokens", 0, label),
        cost=_cost(data.get("cost_estimate")),
    )


def _count(data: dict[str, Any], key: str, default: int, label: str) -> int:
    """Return ``data[key]`` as a count, or raise ``EvaluationError`` naming the field."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise EvaluationError(f"{label}: {key} must be a whole number from 0 to {MAX_COUNT:,}")
    return value


def _seconds(value: Any, label: str) -> float:
    """Return a run's elapsed seconds, or raise ``EvaluationError`` naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise EvaluationError(f"{label}: elapsed_s must be a number of seconds")
    return float(value)


def _cost(raw: Any) -> CostEstimate | None:
    """Return the saved cost estimate; None when it is missing or malformed (it is only shown)."""
    if not isinstance(raw, dict):
        return None
    numbers = [raw.get(k) for k in ("input_tokens", "output_tokens", "dollars")]
    if not all(_is_plain_number(n) for n in numbers):
        return None
    try:
        estimate = CostEstimate(**raw)
    except TypeError:
        return None
    texts = (estimate.model, estimate.currency, estimate.as_of, estimate.rates)
    return estimate if all(isinstance(t, str) for t in texts) else None


def _is_plain_number(value: Any) -> bool:
    """Return True for a finite int or float between 0 and ``MAX_COUNT``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and 0 <= value <= MAX_COUNT


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read a saved run's JSON file; raise ``EvaluationError`` naming the file if it is bad."""
    target = Path(path)
    try:
        data = orjson.loads(target.read_bytes())
    except OSError as err:
        raise EvaluationError(f"{target}: cannot read ({err.strerror or err})") from None
    except orjson.JSONDecodeError as err:
        raise EvaluationError(f"{target}: not valid JSON ({err})") from None
    return run_from_json(data, label=str(target))


def run_from_bytes(data: bytes, label: str, *, max_mb: int = MAX_RUN_FILE_MB) -> Run:
    """Read an uploaded run's JSON; raise ``EvaluationError`` naming ``label`` if it is bad.

    A file over ``max_mb`` is refused unparsed: parsing builds every value in memory first.
    """
    if len(data) > max_mb * 2**20:
        raise EvaluationError(
            f"{label}: {len(data) / 2**20:,.1f} MB is over the {max_mb} MB limit for a saved run"
        )
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise EvaluationError(f"{label}: not valid JSON ({err})") from None
    return run_from_json(parsed, label=label)


def _spreadsheet_cell(value: object) -> str:
    """Return ``value`` as CSV cell text, with a leading quote where it would start a formula."""
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def run_to_csv(run: Run) -> str:
    """Return the run's items as CSV text with ``CSV_COLUMNS``.

    Titles and answers come from the data and the model: every cell that starts like a formula
    (``=``, ``+``, ``-``, ``@``, tab or carriage return; a negative guess too) gets a leading
    ``'`` and every cell is quoted, as OWASP recommends, so a spreadsheet shows it as text and
    never runs it (and a carriage return inside a cell never splits its row).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for r in run.rows:
        error, sle = round(r.error, 4), round(r.sle, 6)
        cells = (r.title, r.truth, r.guess, error, sle, r.color, r.parsed, r.answer or "")
        writer.writerow([_spreadsheet_cell(cell) for cell in cells])
    return buffer.getvalue()


def run_filename(run: Run) -> str:
    """Return the stem for a run's files: the model name made safe, then the time.

    Both parts are cut short enough for any file system (a name may have 255 bytes).
    """
    model = re.sub(r"[^A-Za-z0-9._-]+", "_", run.model).strip("_")[:MAX_STEM_MODEL] or "run"
    stamp = re.sub(r"[^0-9T]", "", run.created)[:MAX_STEM_TIME] or "run"
    return f"{model}-{stamp}"


def _non_finite(value: Any, where: str) -> str | None:
    """Return where the first infinite or NaN number in ``value`` is, else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, dict):
        found = (_non_finite(inner, f"{where}.{key}") for key, inner in value.items())
    elif isinstance(value, list):
        found = (_non_finite(inner, f"{where}[{i}]") for i, inner in enumerate(value))
    else:
        return None
    return next((place for place in found if place is not None), None)


def save_run(run: Run, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.csv`` atomically into ``out_dir``; return both paths.

    Raises ``OutputError`` naming the path that cannot be written (then neither file is left)
    and ``EvaluationError`` when a number is not finite (JSON cannot hold it; nothing written).
    """
    folder = Path(out_dir)
    stem = run_filename(run)
    json_path, csv_path = folder / f"{stem}.json", folder / f"{stem}.csv"
    data = run_to_json(run)
    if (where := _non_finite(data, "run")) is not None:
        raise EvaluationError(f"{json_path}: not saved: {where} is not a finite number")
    with atomic_writer(json_path) as handle:
        handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    try:
        with atomic_writer(csv_path) as handle:
            handle.write(run_to_csv(run).encode())
    except BaseException:
        with contextlib.suppress(OSError):
            json_path.unlink()
        raise
    return json_path, csv_path


class ComparisonRow(TypedDict):
    """One run's headline numbers, for a side-by-side table."""

    run: str
    size: int
    average_error: float
    rmsle: float
    hit_rate_pct: float
    mse: float
    r2: float | None
    unparsed: int


def compare_runs(runs: Sequence[Run]) -> list[ComparisonRow]:
    """Return one row per run; labels are the model names, made unique with the run's time."""
    names = [r.model for r in runs]
    rows: list[ComparisonRow] = []
    for run in runs:
        label = run.model if names.count(run.model) == 1 else f"{run.model} @ {run.created}"
        m = run.metrics
        rows.append(
            ComparisonRow(
                run=label,
                size=m.size,
                average_error=m.average_error,
                rmsle=m.rmsle,
                hit_rate_pct=m.hit_rate_pct,
                mse=m.mse,
                r2=m.r2,
                unparsed=m.unparsed,
            )
        )
    return rows
