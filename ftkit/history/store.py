"""Open the history database: SQLite by default, any SQLAlchemy URL on request.

SQLite runs in WAL mode with a short busy timeout, and every transaction starts with ``BEGIN
IMMEDIATE`` so writers queue instead of failing; a write that meets "database is locked" is
retried until ``$FTKIT_HISTORY_WAIT`` seconds (15) have passed, then gives up with one line. A
caller can ask to hear once that a write is waiting (``wait_notice``). One engine per URL and
process; it never holds anything built from an API key.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from ftkit.errors import HistoryError, OutputError
from ftkit.history.access import Realm, Scope
from ftkit.history.schema import ensure_schema
from ftkit.training.upload_cache import make_private_file, make_private_folder

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DB_PATH",
    "HISTORY_WAIT_ENV",
    "HistoryStore",
    "close_all",
    "damaged_message",
    "database_name",
    "database_url",
    "open_store",
    "wait_notice",
    "wait_seconds",
]

DATABASE_URL_ENV = "FTKIT_DATABASE_URL"
DEFAULT_DB_PATH = Path(".ftkit") / "ftkit.db"
HISTORY_WAIT_ENV = "FTKIT_HISTORY_WAIT"
DEFAULT_WAIT_SECONDS = 15.0
NOTICE_AFTER_SECONDS = 2.0
BUSY_TIMEOUT_MS = 1_000  # SQLite's own wait per statement; ``HistoryStore.write`` retries
RETRY_PAUSE_SECONDS = 0.05

T = TypeVar("T")
_ENGINES: dict[tuple[str, int], Engine] = {}
_READY: set[tuple[str, int]] = set()
_LOCK = threading.Lock()


@dataclass
class _Notice:
    say: Callable[[], None]
    given: bool = False


_NOTICE: ContextVar[_Notice | None] = ContextVar("ftkit_history_wait_notice", default=None)


def wait_seconds() -> float:
    """Return how long a write waits for a locked database: ``$FTKIT_HISTORY_WAIT``, else 15.

    Raises ``HistoryError`` when the variable is not a number of seconds above zero.
    """
    raw = os.environ.get(HISTORY_WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise HistoryError(f"{HISTORY_WAIT_ENV}: expected seconds above 0, got {raw!r}")
    return seconds


@contextmanager
def wait_notice(say: Callable[[], None]) -> Iterator[None]:
    """Call ``say`` once in the block, when a write has waited 2 s for a locked database."""
    token = _NOTICE.set(_Notice(say))
    try:
        yield
    finally:
        _NOTICE.reset(token)


def _give_notice() -> None:
    notice = _NOTICE.get()
    if notice is not None and not notice.given:
        notice.given = True
        notice.say()


def database_url(url: str | None = None, *, base_dir: str | os.PathLike[str] | None = None) -> str:
    """Return the URL to use: ``url``, else ``$FTKIT_DATABASE_URL``, else the SQLite file.

    The SQLite file is ``.ftkit/ftkit.db`` under ``base_dir`` (default: the working folder).
    """
    chosen = (url or os.environ.get(DATABASE_URL_ENV) or "").strip()
    if chosen:
        return chosen
    path = Path(base_dir or Path.cwd()) / DEFAULT_DB_PATH
    return f"sqlite:///{path.resolve()}"


def _safe(url: str) -> str:
    """Return ``url`` with any password hidden, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the database URL"


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


# what SQLite (and PostgreSQL) say about a damaged file or a table that is gone
_DAMAGE_SIGNS = ("malformed", "not a database", "no such table", "no such column")
_DAMAGE_ERRORS = ("UndefinedTable", "UndefinedColumn")


def database_name(url: str) -> str:
    """Return how messages name a database: the SQLite file's path, else the URL sans password."""
    try:
        parsed = sa.make_url(url)
    except ArgumentError:
        return "the database URL"
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return str(parsed.database)
    return _safe(url)


def damaged_message(url: str, detail: str) -> str:
    """Return the one line for a damaged history database: which file, what, what to do."""
    name = database_name(url)
    if url.startswith("sqlite"):
        todo = "rename the file to start a new history, or restore it from a backup"
    else:
        todo = f"restore it from a backup or set {DATABASE_URL_ENV} to a new database"
    return f"history database {name} is damaged ({detail}); {todo}"


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _create_engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().parent
            try:  # owner-only: the folder 0o700, the database (and its -wal, -shm) 0o600
                make_private_folder(folder)
                make_private_file(Path(database).expanduser())
            except OutputError as err:
                why = str(err).rpartition(" (")[2].rstrip(")")
                raise HistoryError(f"{folder}: cannot create the history folder ({why})") from None
        engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _sqlite_events(engine)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=2, max_overflow=4)


def _engine_for(url: str) -> Engine:
    key = (url, os.getpid())  # a forked child must not reuse its parent's connections
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            try:
                engine = _create_engine(url)
            except (ArgumentError, NoSuchModuleError, ImportError) as err:
                raise HistoryError(
                    f"{DATABASE_URL_ENV}: {_safe(url)} is not a database URL ftkit can use "
                    f"({_first_line(err)})"
                ) from None
            _ENGINES[key] = engine
        return engine


def _is_busy(err: OperationalError) -> bool:
    text = str(err.orig).lower()
    return "locked" in text or "busy" in text


@dataclass(frozen=True)
class HistoryStore:
    """A handle on one history database; cheap to create, safe to share within a process.

    A handle with a ``scope`` (see ``scoped``) reads only that scope's runs and records its realm.
    """

    url: str
    engine: Engine
    scope: Scope | None = None

    def scoped(self, scope: Scope | None) -> HistoryStore:
        """Return a handle on the same database that sees and records only ``scope``'s runs."""
        return replace(self, scope=scope)

    @property
    def realm(self) -> Realm:
        """Return the realm the runs recorded through this handle get."""
        return self.scope.realm if self.scope else "local"

    @property
    def display_url(self) -> str:
        """Return the URL with its password hidden."""
        return _safe(self.url)

    @property
    def dialect(self) -> str:
        """Return ``"sqlite"``, ``"postgresql"``, and so on."""
        return self.engine.dialect.name

    def write(
        self,
        work: Callable[[Connection], T],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> T:
        """Run ``work`` in one short write transaction, retrying while the database is busy.

        Raises ``HistoryError`` once the database has stayed locked for ``wait_seconds()``
        (after 2 s of waiting, the ``wait_notice`` of the caller is given), and at once for
        any other database error.
        """
        limit = wait_seconds()
        started = clock()
        while True:
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except OperationalError as err:
                if not _is_busy(err):
                    raise self._error("cannot write", err) from None
            except SQLAlchemyError as err:
                raise self._error("cannot write", err) from None
            waited = clock() - started
            if waited >= limit:
                raise HistoryError(
                    f"history database {self.display_url}: locked by another process "
                    f"for {limit:g} s; gave up"
                )
            if waited >= NOTICE_AFTER_SECONDS:
                _give_notice()
            sleep(min(RETRY_PAUSE_SECONDS, limit - waited))

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Yield a connection for reading; database errors become ``HistoryError``."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as err:
            raise self._error("cannot read", err) from None

    def _error(self, action: str, err: BaseException) -> HistoryError:
        detail = _first_line(err)
        orig = type(getattr(err, "orig", None)).__name__
        if orig in _DAMAGE_ERRORS or any(sign in detail.lower() for sign in _DAMAGE_SIGNS):
            return HistoryError(damaged_message(self.url, detail))
        return HistoryError(f"history database {self.display_url}: {action} ({detail})")


def open_store(
    url: str | None = None, *, base_dir: str | os.PathLike[str] | None = None
) -> HistoryStore:
    """Open (creating or upgrading on first use) the history database; see ``database_url``."""
    resolved = database_url(url, base_dir=base_dir)
    store = HistoryStore(resolved, _engine_for(resolved))
    key = (resolved, os.getpid())
    if key not in _READY:
        store.write(ensure_schema)
        _READY.add(key)
    return store


def close_all() -> None:
    """Close every pooled connection this process holds (tests; a clean shutdown)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _READY.clear()
