"""Record, update, list and compare runs: what was done, with which settings, by whom, when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, get_args

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ftkit.errors import HistoryError
from ftkit.history.access import visible_clause
from ftkit.history.redact import redact
from ftkit.history.schema import RUNS
from ftkit.history.store import HistoryStore, open_store

__all__ = [
    "KINDS",
    "STATUSES",
    "Run",
    "RunJSON",
    "RunKind",
    "RunStatus",
    "SettingChange",
    "diff_settings",
    "get_run",
    "list_runs",
    "record_run",
    "run_to_json",
    "update_run",
]

RunKind = Literal["prepare", "validate", "upload", "finetune", "evaluate"]
RunStatus = Literal["running", "succeeded", "failed", "cancelled"]
KINDS: tuple[RunKind, ...] = get_args(RunKind)
STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
DEFAULT_LIMIT = 100


class RunJSON(TypedDict):
    """One run as ``history --json`` prints it."""

    id: int
    kind: str
    created_at: str
    user: str
    status: str
    settings: dict[str, Any]
    outputs: dict[str, Any]
    parent_run_id: int | None
    realm: str


@dataclass(frozen=True)
class Run:
    """One recorded run."""

    id: int
    kind: str
    created_at: str
    user: str
    status: str
    settings: dict[str, Any]
    outputs: dict[str, Any]
    parent_run_id: int | None = None
    realm: str = "local"
    damaged: str | None = None  # what of the stored row could not be read, if anything


@dataclass(frozen=True)
class SettingChange:
    """One setting that differs between two runs; ``None`` where a run lacks it."""

    key: str
    left: Any
    right: Any


def _dumps(value: Mapping[str, Any], field: str) -> str:
    if not isinstance(value, Mapping):
        raise HistoryError(f"{field}: expected a mapping, got {type(value).__name__}")
    clean = redact(dict(value))
    return orjson.dumps(clean, default=str, option=orjson.OPT_SORT_KEYS).decode()


def _parse(stored: Any) -> dict[str, Any] | None:
    """Return a stored JSON object, or None when the stored value is not one."""
    try:
        value = orjson.loads(stored) if isinstance(stored, str) else None
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _loads(stored: Any) -> dict[str, Any]:
    """Return a stored JSON object; anything else comes back as ``{"unreadable": ...}``."""
    value = _parse(stored)
    if value is not None:
        return value
    if isinstance(stored, bytes):
        stored = stored.decode("utf-8", errors="replace")
    return {"unreadable": stored if isinstance(stored, str) else repr(stored)}


def _row_to_run(row: sa.Row[Any]) -> Run:
    """Return a stored row as a ``Run``; a damaged field is shown as far as it can be read."""
    settings, outputs, parent = _parse(row.settings), _parse(row.outputs), row.parent_run_id
    damaged = [
        f"{name} is not a JSON object"
        for name, value in (("settings", settings), ("outputs", outputs))
        if value is None
    ]
    if parent is not None and type(parent) is not int:
        damaged.append("parent_run_id is not a number")
    return Run(
        id=int(row.id),
        kind=str(row.kind),
        created_at=str(row.created_at),
        user=str(row.username),
        status=str(row.status),
        settings=settings if settings is not None else _loads(row.settings),
        outputs=outputs if outputs is not None else _loads(row.outputs),
        parent_run_id=parent if type(parent) is int else None,
        realm=str(row.realm),
        damaged="; ".join(damaged) or None,
    )


def _select_visible(store: HistoryStore) -> sa.Select[Any]:
    """Return a query for the runs ``store`` may see (its scope's, or all)."""
    return sa.select(RUNS).where(visible_clause(store.scope))


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise HistoryError(f"status: {status!r} is not one of {', '.join(STATUSES)}")


def record_run(
    kind: RunKind,
    settings: Mapping[str, Any],
    outputs: Mapping[str, Any],
    *,
    user: str,
    status: RunStatus = "succeeded",
    parent_run_id: int | None = None,
    created_at: datetime | None = None,
    store: HistoryStore | None = None,
) -> int:
    """Record one run and return its id; secret-looking fields are dropped before storing.

    Through a scoped store (hosted mode) the run is recorded as the scope's owner and realm.
    """
    if kind not in KINDS:
        raise HistoryError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    _check_status(status)
    when = (created_at or datetime.now(UTC)).astimezone(UTC).isoformat()
    store = store or open_store()
    values = {
        "kind": kind,
        "created_at": when,
        "username": store.scope.owner if store.scope else redact(user or ""),
        "realm": store.realm,
        "status": status,
        "settings": _dumps(settings, "settings"),
        "outputs": _dumps(outputs, "outputs"),
        "parent_run_id": parent_run_id,
    }

    def insert(conn: Connection) -> int:
        key = conn.execute(sa.insert(RUNS).values(**values)).inserted_primary_key
        if key is None:  # pragma: no cover - every supported dialect reports the new id
            raise HistoryError("the database did not report the new run's id")
        return int(key[0])

    return store.write(insert)


def update_run(
    run_id: int,
    *,
    outputs: Mapping[str, Any] | None = None,
    status: RunStatus | None = None,
    store: HistoryStore | None = None,
) -> Run:
    """Merge ``outputs`` into a run's outputs (top-level keys replace) and set its status.

    Raises ``HistoryError`` for a run the store cannot see (see ``get_run``).
    """
    if status is not None:
        _check_status(status)
    store = store or open_store()

    def change(conn: Connection) -> Run:
        row = conn.execute(_select_visible(store).where(RUNS.c.id == run_id)).one_or_none()
        if row is None:
            raise HistoryError(f"run {run_id}: no such run")
        values: dict[str, Any] = {}
        if outputs is not None:
            merged = {**_loads(row.outputs), **dict(outputs)}
            values["outputs"] = _dumps(merged, "outputs")
        if status is not None:
            values["status"] = status
        if values:
            conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id).values(**values))
        return _row_to_run(conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).one())

    return store.write(change)


def list_runs(
    kind: str | None = None,
    user: str | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    store: HistoryStore | None = None,
) -> list[Run]:
    """Return the runs the store may see, newest first, optionally of one kind or one user."""
    store = store or open_store()
    query = _select_visible(store).order_by(RUNS.c.id.desc()).limit(max(1, limit))
    if kind:
        query = query.where(RUNS.c.kind == kind)
    if user is not None:
        query = query.where(RUNS.c.username == user)
    with store.read() as conn:
        return [_row_to_run(row) for row in conn.execute(query)]


def get_run(run_id: int, *, store: HistoryStore | None = None) -> Run:
    """Return one run; raise ``HistoryError`` when there is none with that id the store may see.

    A run outside a scoped store's scope gets the same message as a missing one.
    """
    store = store or open_store()
    with store.read() as conn:
        row = conn.execute(_select_visible(store).where(RUNS.c.id == run_id)).one_or_none()
    if row is None:
        raise HistoryError(f"run {run_id}: no such run")
    return _row_to_run(row)


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        path = f"{prefix}{key}"
        if isinstance(inner, Mapping) and inner:
            flat.update(_flatten(inner, f"{path}."))
        else:
            flat[path] = inner
    return flat


def diff_settings(a: Run | Mapping[str, Any], b: Run | Mapping[str, Any]) -> list[SettingChange]:
    """Return the settings that differ between two runs, by dotted key, sorted."""
    left = _flatten(a.settings if isinstance(a, Run) else a)
    right = _flatten(b.settings if isinstance(b, Run) else b)
    return [
        SettingChange(key, left.get(key), right.get(key))
        for key in sorted(left.keys() | right.keys())
        if left.get(key) != right.get(key)
    ]


def run_to_json(run: Run) -> RunJSON:
    """Return the JSON object for one run."""
    return RunJSON(
        id=run.id,
        kind=run.kind,
        created_at=run.created_at,
        user=run.user,
        status=run.status,
        settings=run.settings,
        outputs=run.outputs,
        parent_run_id=run.parent_run_id,
        realm=run.realm,
    )
