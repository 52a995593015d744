"""``python -m ftkit evaluate --model M``: the course's Tester from the command line.

``--model local:DIR`` scores a model on this computer (a run folder, a LoRA adapter or a full
model; see ``ftkit.evaluation.local``), loaded once and asked ``--batch-size`` items at a time.

On a data file it scores only the held-out items: those outside the training and validation
split ``prepare`` draws with the same ``--sampling``, ``--seed``, ``--train`` and
``--validation`` (see ``ftkit.evaluation.holdout`` for the whole rule).

Exit codes: 0 every item scored; 1 some items failed after every retry; 2 a problem the user can
fix (no key, unreadable source, the model refused every request, the run could not be saved);
130 interrupted (what finished is still saved and reported). A run that cannot be saved (a full
disk, an unwritable ``--out``) is still printed and recorded; the last line names the path.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from ftkit.cli import record_quietly
from ftkit.cli._provider import add_provider_flags, client_from_args, settings_from_args
from ftkit.cli.arguments import add_column_arguments, column_overrides, positive_int
from ftkit.dataset.sampling import (
    DEFAULT_SEED,
    DEFAULT_STRATEGY,
    DEFAULT_TRAIN,
    DEFAULT_VALIDATION,
    STRATEGIES,
    SplitSettings,
)
from ftkit.errors import EvaluationError, FtkitError
from ftkit.evaluation.chat import DEFAULT_MAX_TOKENS, ChatPredictor
from ftkit.evaluation.failures import FailureLog, describe_failures
from ftkit.evaluation.holdout import EvaluationItems, choose_items, size_hint, split_to_settings
from ftkit.evaluation.local import DEFAULT_BATCH_SIZE, LocalModel, is_local, resolve_local
from ftkit.evaluation.predictors import (
    BASELINES,
    Predictor,
    is_baseline,
    make_baseline,
    needs_training,
)
from ftkit.evaluation.run import (
    DEFAULT_SIZE,
    DEFAULT_WORKERS,
    CostEstimate,
    Progress,
    Run,
    estimate_cost,
    evaluate,
)
from ftkit.evaluation.saved import compare_runs, load_run, run_to_json, save_run
from ftkit.evaluation.scoring import title_for
from ftkit.history.recording import content_hash, current_user, evaluate_settings, record_evaluate
from ftkit.sources.columns import describe_mapping, mapping_to_json
from ftkit.sources.load import SAMPLE

__all__ = ["register", "run"]

DEFAULT_OUT = Path(".ftkit") / "runs"
WHICH_ITEMS = (
    "Which items are scored: on a data file (CSV, JSONL, JSON, Parquet, or a pickle not named "
    "test*), only its held-out items, outside the train and validation split prepare draws "
    "with the same --sampling, --seed, --train and --validation; the baselines are fitted on "
    "that split's training items. On the built-in sample, its test split. On a course test set "
    "(a pickle named test*.pkl, e.g. test.pkl), all its items in order, as in the lecture; the "
    "baselines are then fitted on the training split of --train-source (default: the sample)."
)
SEPARATE_TEST = "score a separate test file (e.g. --source test.pkl)"
NO_HELD_OUT = f"lower --train/--validation, or {SEPARATE_TEST}"
OLD_TRAIN = (
    "--train is now the number of training items, as in prepare (default {default}); "
    "name the baselines' training file with --train-source {value}"
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a chat model (or a baseline) on test items the course's way",
        description="Ask a chat model the price of each test item, score the answers as the "
        "course's Tester does (average error, RMSLE, hits) and save the run. Baselines need "
        f"no API: {', '.join(BASELINES)}. {WHICH_ITEMS}",
    )
    add = parser.add_argument
    add("--model", help="a chat model, an ft: model, local:DIR, or a baseline:* name")
    add("--source", default=SAMPLE, help="sample (its test split), a data file, or test.pkl")
    add(
        "--train",
        metavar="N",
        default=str(DEFAULT_TRAIN),
        help=f"the split's training items ({DEFAULT_TRAIN})",
    )
    add(
        "--validation",
        metavar="N",
        type=int,
        default=DEFAULT_VALIDATION,
        help=f"validation items of the split ({DEFAULT_VALIDATION})",
    )
    add("--seed", type=int, default=DEFAULT_SEED, help=f"the split's seed ({DEFAULT_SEED})")
    add("--sampling", choices=STRATEGIES, default=DEFAULT_STRATEGY, help=f"({DEFAULT_STRATEGY})")
    add(
        "--train-source",
        metavar="PATH",
        help="fit baselines on this source's training split (default: --source, or the "
        "sample for a test set)",
    )
    add_column_arguments(parser)
    add(
        "--size",
        type=positive_int,
        default=DEFAULT_SIZE,
        help=f"score the first N of those items (default {DEFAULT_SIZE})",
    )
    add("--workers", type=positive_int, default=DEFAULT_WORKERS, help="requests in flight")
    add("--max-tokens", type=positive_int, default=DEFAULT_MAX_TOKENS, help="reply token limit")
    add(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"items a local: model answers at once ({DEFAULT_BATCH_SIZE})",
    )
    add("--no-prefill", action="store_true", help='do not send the "Price is $" prefill')
    add("--out", type=Path, default=DEFAULT_OUT, help=f"where runs are saved ({DEFAULT_OUT})")
    add("--no-save", action="store_true", help="do not save the run")
    add("--json", action="store_true", help="print one JSON object")
    add("--chart", type=Path, metavar="FILE.png", help="save the chart as a PNG")
    add("--compare", nargs="+", type=Path, metavar="RUN.json", help="compare saved runs")
    add("--no-history", action="store_true", help="do not record this run")
    add_provider_flags(parser)
    parser.set_defaults(handler=run)


def _split(args: argparse.Namespace) -> SplitSettings:
    """Return the split settings; an old-style ``--train PATH`` is one line naming the new flag."""
    train = str(args.train).strip()
    try:
        count = int(train)
    except ValueError:
        raise EvaluationError(OLD_TRAIN.format(default=DEFAULT_TRAIN, value=train)) from None
    return SplitSettings(count, args.validation, args.seed, args.sampling)


def _choose(args: argparse.Namespace) -> EvaluationItems:
    """Return the items to score and the baselines' training items, or raise one clear line."""
    chosen = choose_items(
        args.source,
        split=_split(args),
        train_source=args.train_source,
        fit_baselines=needs_training(args.model),
        overrides=column_overrides(args),
    )
    hint = NO_HELD_OUT
    if chosen.scope == "held-out" and not chosen.items and chosen.total:
        hint = f"{size_hint(chosen.split, chosen.total)}, or {SEPARATE_TEST}"
    chosen.require(hint)
    return chosen


def _predictor(
    args: argparse.Namespace, chosen: EvaluationItems, local: LocalModel | None
) -> tuple[Predictor, int]:
    if is_baseline(args.model):
        return make_baseline(args.model, chosen.train), 1
    if local is not None:
        from ftkit.evaluation.local_predictor import load_local

        print(f"loading {local.describe()}", file=sys.stderr)
        loaded = load_local(
            local,
            batch_size=args.batch_size,
            max_tokens=args.max_tokens,
            prefill=not args.no_prefill,
        )
        return loaded, 1
    client, _ = client_from_args(args, keyless_ok=True)  # a local chat server needs no key
    predictor = ChatPredictor(
        client=client, model=args.model, prefill=not args.no_prefill, max_tokens=args.max_tokens
    )
    return predictor, args.workers


def _cost_line(cost: CostEstimate | None, model: str, count: int) -> str:
    if is_local(model):
        return "cost: local model: no API cost"
    if cost is None:
        return f"cost: {model} is not in the price table; not estimated"
    approx = " (approximate token counts)" if cost.approximate else ""
    return (
        f"cost: at most ${cost.dollars:,.4f} for {count} requests ({cost.input_tokens:,} tokens "
        f"in, up to {cost.output_tokens:,} out; {cost.model} {cost.rates} rates as of "
        f"{cost.as_of}){approx}"
    )


def _show_progress(progress: Progress) -> None:
    failed = f", {progress.failed} failed" if progress.failed else ""
    retries = f", {progress.retries} retries" if progress.retries else ""
    end = "\n" if progress.done == progress.total else ""
    print(f"\r{progress.done}/{progress.total} scored{failed}{retries}", end=end, file=sys.stderr)


def format_run(run: Run) -> str:
    """Return the human report: the course's title line, more metrics and error by band."""
    m = run.metrics
    r2 = "n/a" if m.r2 is None else f"{m.r2:.3f}"
    colors = " / ".join(f"{color} {count}" for color, count in m.colors.items())
    lines = [
        title_for(run.model, m),
        f"items {m.size} of {run.requested} · MSE {m.mse:,.2f} · R² {r2} · "
        f"unparsed {m.unparsed} · {colors}",
    ]
    if run.failed:
        lines.append(f"failed after every retry: {run.failed}")
    lines.append("error by price band:")
    lines += [
        f"  {b.band:<10} n={b.count:<4} error ${b.average_error:>8,.2f}   "
        f"RMSLE {b.rmsle:.2f}   hits {b.hit_rate_pct:5.1f}%"
        for b in m.by_band
    ]
    return "\n".join(lines)


def _compare(args: argparse.Namespace) -> int:
    runs = [load_run(path) for path in args.compare]
    rows = compare_runs(runs)
    if args.json:
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    else:
        for row in rows:
            r2 = "n/a" if row["r2"] is None else f"{row['r2']:.3f}"
            print(
                f"{row['run']}: Error=${row['average_error']:,.2f} RMSLE={row['rmsle']:.2f} "
                f"Hits={row['hit_rate_pct']:.1f}% MSE={row['mse']:,.2f} R²={r2} "
                f"n={row['size']} unparsed={row['unparsed']}"
            )
    if args.chart:
        from ftkit.evaluation.charts import chart_to_png, comparison_chart

        print(f"chart: {chart_to_png(comparison_chart(runs), args.chart)}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    """Evaluate ``--model`` (or compare ``--compare`` runs); return the exit code."""
    if args.compare:
        return _compare(args)
    if not args.model:
        raise EvaluationError("--model is required (a chat model name or baseline:random)")
    local = resolve_local(args.model) if is_local(args.model) else None  # fails before the data
    chosen = _choose(args)
    items = chosen.items[: args.size]
    predictor, workers = _predictor(args, chosen, local)
    log = FailureLog(predictor)
    _say_which(args, chosen)
    model = args.model if local is None else local.name
    cost = None if local else estimate_cost(items, args.model, max_tokens=args.max_tokens)
    if not is_baseline(args.model):
        print(_cost_line(cost, model, len(items)), file=sys.stderr)
    result = evaluate(
        items,
        log,
        model=model,
        source=args.source,
        workers=workers,
        cost=cost,
        on_progress=_show_progress if sys.stderr.isatty() else None,
    )
    return _finish(args, result, workers, chosen, log)


def _say_which(args: argparse.Namespace, chosen: EvaluationItems) -> None:
    print(f"scoring {chosen.describe(args.size)}", file=sys.stderr)
    if (short := chosen.shortfall(args.size)) is not None:
        print(f"note: {short}", file=sys.stderr)
    if needs_training(args.model):
        print(chosen.describe_train(), file=sys.stderr)
    if chosen.mapping is not None:
        print(f"columns: {describe_mapping(chosen.mapping)}", file=sys.stderr)


def scored_json(chosen: EvaluationItems, size: int, model: str) -> dict[str, Any]:
    """Return what ``--json`` says about the scored items and the baselines' training items."""
    return {
        "scope": chosen.scope,
        "description": chosen.describe(size),
        "available": len(chosen.items),
        "split": split_to_settings(chosen.split),
        "train": chosen.describe_train() if needs_training(model) else None,
        "mapping": mapping_to_json(chosen.mapping),
    }


def _train_source(args: argparse.Namespace, chosen: EvaluationItems) -> str:
    if args.train_source:
        return str(args.train_source)
    return SAMPLE if chosen.scope != "held-out" else str(args.source)


def _where(source: str) -> str:
    return source if source == SAMPLE else os.path.abspath(source)


def _record(
    args: argparse.Namespace, result: Run, workers: int, saved: Path | None, chosen: EvaluationItems
) -> int:
    baseline = is_baseline(args.model)
    asked_api = not baseline and not is_local(args.model)
    train = _train_source(args, chosen)
    dataset_hash = content_hash(args.source)
    train_hash = dataset_hash if train == args.source else content_hash(train)
    settings = evaluate_settings(
        model=result.model,
        source=_where(args.source),
        dataset_hash=dataset_hash,
        size=args.size,
        workers=workers,
        base_url=settings_from_args(args).base_url if asked_api else None,
        train_source=_where(train) if baseline else None,
        train_hash=train_hash if baseline else None,
        max_tokens=args.max_tokens,
        prefill=not args.no_prefill,
        split=chosen.split,
        scored=chosen.scope,
        scored_items=chosen.describe(args.size),
        mapping=chosen.mapping,
    )
    return record_evaluate(result, settings, user=current_user(), saved=saved)


def _save(args: argparse.Namespace, result: Run) -> tuple[Path | None, str | None]:
    """Save the run unless told not to; return the JSON path, or why it was not saved."""
    if not result.rows or args.no_save:
        return None, None
    try:
        json_path, csv_path = save_run(result, args.out)
    except FtkitError as err:
        return None, f"the run was not saved: {err}"
    print(f"saved: {json_path} and {csv_path.name}", file=sys.stderr)
    return json_path, None


def _finish(
    args: argparse.Namespace, result: Run, workers: int, chosen: EvaluationItems, log: FailureLog
) -> int:
    json_path, not_saved = _save(args, result)
    if not args.no_history:
        record_quietly(lambda: _record(args, result, workers, json_path, chosen))
    if args.json:
        data = {**run_to_json(result), "scored": scored_json(chosen, args.size, args.model)}
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    elif result.rows:
        print(format_run(result))
    if args.chart and result.rows:
        from ftkit.evaluation.charts import chart_to_png, course_chart

        chart = course_chart(result.rows, result.metrics, name=result.model)
        print(f"chart: {chart_to_png(chart, args.chart)}", file=sys.stderr)
    code = _outcome(result, log)
    if not_saved is None:
        return code
    print(f"ftkit: error: {not_saved}", file=sys.stderr)
    return code if code == 130 else 2


def _outcome(result: Run, log: FailureLog) -> int:
    """Print how the run ended (failures, a stop); return the exit code.

    A stopped run's line says why instead: items still in flight when it stopped may have
    failed since, so the reasons' counts would not add up to the items counted.
    """
    if result.failed and result.stopped in (None, "interrupted"):
        print(
            f"ftkit: {result.failed} of {result.requested} items failed after every retry: "
            f"{describe_failures(log.reasons)}",
            file=sys.stderr,
        )
    if result.stopped == "interrupted":
        print(f"ftkit: interrupted after {len(result.rows)} items", file=sys.stderr)
        return 130
    if result.stopped:
        kept = f" ({len(result.rows)} items kept)" if result.rows else ""
        print(f"ftkit: error: run stopped: {result.stopped}{kept}", file=sys.stderr)
        return 2
    return 1 if result.failed else 0
