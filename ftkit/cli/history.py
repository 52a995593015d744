"""``python -m ftkit history``: list, show, compare and re-run recorded runs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from ftkit.cli._provider import add_provider_flags, settings_from_args
from ftkit.errors import HistoryError
from ftkit.history import (
    KINDS,
    HistoryStore,
    Run,
    diff_settings,
    get_run,
    list_runs,
    open_store,
    run_to_json,
)
from ftkit.history.store import database_name

__all__ = ["format_run", "format_table", "register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``history`` subcommand."""
    parser = subparsers.add_parser(
        "history",
        help="list recorded prepare, validate, upload, fine-tune and evaluation runs",
        description="List the runs recorded in the history database (.ftkit/ftkit.db, or "
        "$FTKIT_DATABASE_URL), show one, compare two, or re-run one with the same settings.",
    )
    parser.add_argument("--kind", choices=KINDS, help="only runs of this kind")
    parser.add_argument("--user", help="only runs by this user")
    parser.add_argument("--limit", type=int, default=50, help="at most this many runs (50)")
    parser.add_argument("--id", type=int, metavar="N", help="show run N in full")
    parser.add_argument(
        "--diff", type=int, nargs=2, metavar=("A", "B"), help="compare the settings of runs A and B"
    )
    parser.add_argument(
        "--rerun",
        type=int,
        metavar="N",
        help="do prepare, validate or evaluate run N again, same settings "
        "(a chat model's evaluation asks your own endpoint with "
        "OPENAI_API_KEY, never the one the run recorded)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="re-run even if your endpoint is not the recorded one"
    )
    parser.add_argument("--database", metavar="URL", help="a SQLAlchemy URL (default: see above)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_provider_flags(parser)
    parser.set_defaults(handler=run)


def _dump(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _short(settings: dict[str, Any]) -> str:
    parts = []
    sizes = settings.get("sizes") or {}
    if sizes:
        parts.append(f"{sizes.get('train', '?')}/{sizes.get('validation', '?')}")
    for key in ("model", "strategy", "seed"):
        if settings.get(key) is not None:
            parts.append(f"{key}={settings[key]}")
    return " ".join(parts)


def format_table(runs: list[Run]) -> str:
    """Return runs as an aligned table, newest first."""
    if not runs:
        return "No runs recorded yet."
    rows = [("ID", "KIND", "WHEN (UTC)", "USER", "STATUS", "SETTINGS")]
    rows += [
        (
            str(r.id),
            r.kind,
            r.created_at[:19].replace("T", " "),
            r.user or "-",
            r.status,
            _short(r.settings),
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True))
        + "  "
        + row[5]
        for row in rows
    ).rstrip()


def format_run(item: Run) -> str:
    """Return one run in full."""
    lines = [
        f"Run {item.id}: {item.kind}, {item.status}",
        f"  when: {item.created_at}",
        f"  user: {item.user or '-'}",
    ]
    if item.parent_run_id:
        lines.append(f"  re-run of: {item.parent_run_id}")
    lines += ["settings:", _dump(item.settings), "outputs:", _dump(item.outputs)]
    return "\n".join(lines)


def _rerun(args: argparse.Namespace, store: HistoryStore) -> Run:
    """Re-run run ``args.rerun`` on this user's own endpoint; refuse another one without --yes."""
    from ftkit.history.recording import current_user, recorded_endpoint, rerun, safe_url
    from ftkit.providers import client_from_settings

    original = get_run(args.rerun, store=store)
    settings = settings_from_args(args)
    recorded, current = recorded_endpoint(original), safe_url(settings.endpoint)
    if recorded is not None and recorded != current and not args.yes:
        raise HistoryError(
            f"run {original.id}: it asked {recorded}; a re-run asks your own endpoint, "
            f"{current}, with your key: pass --yes to go ahead"
        )
    new_id = rerun(
        original,
        user=current_user(),
        store=store,
        client_for=lambda _recorded: client_from_settings(settings),
    )
    return get_run(new_id, store=store)


def _note_damaged(runs: list[Run], store: HistoryStore) -> None:
    """Print one note on stderr per run whose stored row is partly unreadable."""
    for item in runs:
        if item.damaged:
            print(
                f"ftkit: note: history database {database_name(store.url)}: run {item.id} is "
                f"damaged ({item.damaged}); shown as far as it can be read",
                file=sys.stderr,
            )


def run(args: argparse.Namespace) -> int:
    """Run ``history``; return the exit code."""
    store = open_store(args.database)
    if args.rerun is not None:
        item = _rerun(args, store)
        print(_dump(run_to_json(item)) if args.json else format_run(item))
        return 0
    if args.diff:
        left, right = (get_run(n, store=store) for n in args.diff)
        _note_damaged([left, right], store)
        changes = diff_settings(left, right)
        if args.json:
            print(_dump([{"key": c.key, "a": c.left, "b": c.right} for c in changes]))
        elif not changes:
            print(f"Runs {left.id} and {right.id} have the same settings.")
        else:
            for change in changes:
                print(f"{change.key}: {change.left!r} -> {change.right!r}")
        return 0
    if args.id is not None:
        item = get_run(args.id, store=store)
        _note_damaged([item], store)
        print(_dump(run_to_json(item)) if args.json else format_run(item))
        return 0
    runs = list_runs(args.kind, args.user, limit=args.limit, store=store)
    _note_damaged(runs, store)
    print(_dump([run_to_json(r) for r in runs]) if args.json else format_table(runs))
    return 0
