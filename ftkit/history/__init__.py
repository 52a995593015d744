"""Run history: every prepare, validate, upload, fine-tune and evaluation, in a real database.

SQLite at ``.ftkit/ftkit.db`` by default; ``$FTKIT_DATABASE_URL`` (or a URL passed to
``open_store``) selects any SQLAlchemy database, e.g. ``postgresql+psycopg://...``. In hosted
mode the dashboard reads and records through a scoped store, so each person sees only their
own runs (see ``ftkit.history.access``).
"""

from __future__ import annotations

from ftkit.history.access import REALMS, Realm, Scope
from ftkit.history.redact import REDACTED, is_secret_name, redact
from ftkit.history.runs import (
    KINDS,
    STATUSES,
    Run,
    RunJSON,
    RunKind,
    RunStatus,
    SettingChange,
    diff_settings,
    get_run,
    list_runs,
    record_run,
    run_to_json,
    update_run,
)
from ftkit.history.schema import CURRENT_VERSION, read_version
from ftkit.history.store import (
    DATABASE_URL_ENV,
    HistoryStore,
    close_all,
    database_url,
    open_store,
)

__all__ = [
    "CURRENT_VERSION",
    "DATABASE_URL_ENV",
    "KINDS",
    "REALMS",
    "REDACTED",
    "STATUSES",
    "HistoryStore",
    "Realm",
    "Run",
    "RunJSON",
    "RunKind",
    "RunStatus",
    "Scope",
    "SettingChange",
    "close_all",
    "database_url",
    "diff_settings",
    "get_run",
    "is_secret_name",
    "list_runs",
    "open_store",
    "read_version",
    "record_run",
    "redact",
    "run_to_json",
    "update_run",
]
