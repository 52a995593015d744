"""``python -m ftkit prepare``: items to the two fine-tuning JSONL files."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from ftkit.cli import record_quietly
from ftkit.cli.arguments import add_column_arguments, column_overrides
from ftkit.dataset.messages import (
    DEFAULT_ASSISTANT_TEMPLATE,
    DEFAULT_SYSTEM_PROMPT,
    DEFAULT_USER_TEMPLATE,
    Templates,
)
from ftkit.dataset.prepare import PrepareResult, check_output_folder, prepare
from ftkit.dataset.sampling import STRATEGIES, SplitSettings
from ftkit.errors import SamplingError
from ftkit.evaluation.holdout import size_hint
from ftkit.sources.columns import describe_mapping, mapping_to_json
from ftkit.sources.load import ColumnMapping, LoadedItems, content_hash, load_items
from ftkit.training.models import DEFAULT_MODEL

__all__ = ["register", "result_to_json"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``prepare`` subcommand."""
    parser = subparsers.add_parser(
        "prepare",
        help="write fine_tune_train.jsonl and fine_tune_validation.jsonl",
        description="Load items, draw the split, and write the chat fine-tuning JSONL files.",
    )
    parser.add_argument("--source", default="sample", help="'sample' or a file path")
    parser.add_argument("--train", type=int, default=500, help="training examples (500)")
    parser.add_argument("--validation", type=int, default=50, help="validation examples (50)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument("--sampling", choices=STRATEGIES, default="first", help="(first)")
    parser.add_argument("--system-prompt", default=DEFAULT_SYSTEM_PROMPT)
    parser.add_argument("--user-template", default=DEFAULT_USER_TEMPLATE)
    parser.add_argument("--assistant-template", default=DEFAULT_ASSISTANT_TEMPLATE)
    parser.add_argument("--out", default=".", help="output folder (.)")
    add_column_arguments(parser)
    parser.add_argument(
        "--check", action="store_true", help="run the pre-flight check on what was written"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model for --check's tokens/cost")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-history", action="store_true", help="do not record this run")
    parser.set_defaults(handler=run)


def result_to_json(result: PrepareResult, mapping: ColumnMapping | None = None) -> dict[str, Any]:
    """Return the ``--json`` object for a prepare run (``mapping``: the columns used)."""
    return {
        "source": result.source,
        "mapping": mapping_to_json(mapping),
        "rows": result.rows,
        "loaded": result.loaded,
        "dropped": result.dropped,
        "train_path": str(result.train_path),
        "validation_path": str(result.validation_path) if result.validation_path else None,
        "train_count": result.train_count,
        "validation_count": result.validation_count,
        "skipped_duplicates": result.skipped_duplicates,
        "warnings": result.warnings,
    }


def format_result(result: PrepareResult, mapping: ColumnMapping | None = None) -> str:
    """Return the human summary of a prepare run."""
    lines = [f"Loaded {result.loaded:,} items from {result.source} ({result.rows:,} rows)."]
    if mapping is not None:
        lines.append(f"  columns: {describe_mapping(mapping)}")
    for reason, count in sorted(result.dropped.items()):
        lines.append(f"  dropped {count:,}: {reason}")
    lines.append(f"Wrote {result.train_count:,} training examples to {result.train_path}")
    if result.validation_path:
        lines.append(
            f"Wrote {result.validation_count:,} validation examples to {result.validation_path}"
        )
    if result.skipped_duplicates:
        lines.append(f"  skipped {result.skipped_duplicates:,} duplicates to keep splits apart")
    lines.extend(f"warning: {warning}" for warning in result.warnings)
    return "\n".join(lines)


def _record(
    args: argparse.Namespace,
    templates: Templates,
    result: PrepareResult,
    dataset_hash: str,
    mapping: ColumnMapping | None,
) -> int:
    from ftkit.history.recording import current_user, prepare_settings, record_prepare

    settings = prepare_settings(
        args.source,
        train=args.train,
        validation=args.validation,
        seed=args.seed,
        strategy=args.sampling,
        templates=templates,
        out_dir=args.out,
        mapping=mapping,
        dataset_hash=dataset_hash,
    )
    return record_prepare(result, settings, user=current_user())


def _prepare(args: argparse.Namespace, templates: Templates, loaded: LoadedItems) -> PrepareResult:
    """Run the library's one ``prepare`` on the loaded items; name the source when too few."""
    try:
        return prepare(
            args.source,
            loaded=loaded,
            train=args.train,
            validation=args.validation,
            seed=args.seed,
            strategy=args.sampling,
            templates=templates,
            out_dir=args.out,
        )
    except SamplingError as err:
        raise _too_few(args, err, len(loaded.items)) from None


def _too_few(args: argparse.Namespace, err: SamplingError, available: int) -> SamplingError:
    """Return the error naming the source, with sizes to try when the split asked too much."""
    message = f"{Path(args.source).name}: {str(err).removeprefix('sampling: ')}"
    if args.train + args.validation <= available or args.train < 1 or args.validation < 0:
        return SamplingError(message)
    split = SplitSettings(args.train, args.validation, args.seed, args.sampling)
    return SamplingError(f"{message}; {size_hint(split, available)}")


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C for the block, so a half-written staging file is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    """Run ``prepare``; return the exit code (SIGTERM counts as Ctrl-C: nothing half-written)."""
    with _terminate_as_interrupt():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    templates = Templates(args.system_prompt, args.user_template, args.assistant_template)
    check_output_folder(Path(args.out))  # before a long load, not after it
    loaded = load_items(args.source, overrides=column_overrides(args))
    # The loaded items live until the command ends and hold no cycles: the garbage collector
    # need not walk them again (400,000 items: a tenth of a second).
    gc.freeze()
    try:
        return _finish(args, templates, loaded)
    finally:
        gc.unfreeze()


def _finish(args: argparse.Namespace, templates: Templates, loaded: LoadedItems) -> int:
    result = _prepare(args, templates, loaded)
    mapping = loaded.mapping
    if not args.no_history:
        dataset_hash = result.dataset_hash or content_hash(args.source)
        record_quietly(lambda: _record(args, templates, result, dataset_hash, mapping))
    summary = result_to_json(result, mapping)
    report = None
    if args.check:
        from ftkit.preflight.scan import check_file, format_report, report_to_json

        report = check_file(
            result.train_path, validation_path=result.validation_path, model=args.model
        )
        summary["check"] = report_to_json(report)
    if args.json:
        sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    else:
        print(format_result(result, mapping))
        if report is not None:
            print()
            print(format_report(report))
    return 1 if report is not None and not report.ok else 0
