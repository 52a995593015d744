"""The history tables, their version, and the in-place upgrades from every older version.

Version 1 had ``runs(id, kind, created_at, status, settings, outputs)``. Version 2 adds who ran
it (``username``) and the run it repeats (``parent_run_id``), plus two indexes. Version 3 adds
where a run was recorded (``realm``: ``local``, ``signed-in`` or ``session``; older rows are
``local``, so hosted users never see them). An upgrade runs inside one transaction, so a
database is either fully at the old version or fully at the new.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ftkit.errors import HistoryError

__all__ = [
    "CURRENT_VERSION",
    "METADATA",
    "MIGRATIONS",
    "RUNS",
    "SCHEMA_VERSION",
    "V1_METADATA",
    "ensure_schema",
    "read_version",
]

CURRENT_VERSION = 3

METADATA = sa.MetaData()
SCHEMA_VERSION = sa.Table(
    "schema_version", METADATA, sa.Column("version", sa.Integer, nullable=False)
)
RUNS = sa.Table(
    "runs",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),
    sa.Column("username", sa.String(320), nullable=False, server_default=""),
    sa.Column("parent_run_id", sa.Integer, nullable=True),
    sa.Column("realm", sa.String(16), nullable=False, server_default="local"),
    sqlite_autoincrement=True,
)
_INDEXES = (
    sa.Index("ix_runs_kind_id", RUNS.c.kind, RUNS.c.id),
    sa.Index("ix_runs_username_id", RUNS.c.username, RUNS.c.id),
)

# Version 1 as it shipped; kept so tests can build an old database with the old DDL.
V1_METADATA = sa.MetaData()
sa.Table("schema_version", V1_METADATA, sa.Column("version", sa.Integer, nullable=False))
sa.Table(
    "runs",
    V1_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)

_LOCK_ID = 0x46544B4954  # "FTKIT": serialises schema work across PostgreSQL sessions


def _upgrade_1_to_2(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN username VARCHAR(320) NOT NULL DEFAULT ''")
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN parent_run_id INTEGER")
    for index in _INDEXES:
        index.create(conn)


def _upgrade_2_to_3(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN realm VARCHAR(16) NOT NULL DEFAULT 'local'")


MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _upgrade_1_to_2, 3: _upgrade_2_to_3}
"""``MIGRATIONS[n]`` upgrades a version ``n - 1`` database to version ``n`` in place."""


def read_version(conn: Connection) -> int | None:
    """Return the schema version, or None for a database without ftkit's tables."""
    if not sa.inspect(conn).has_table("schema_version"):
        return None
    version = conn.execute(sa.select(sa.func.max(SCHEMA_VERSION.c.version))).scalar()
    return int(version) if version is not None else None


def ensure_schema(conn: Connection) -> int:
    """Create the tables or upgrade them to ``CURRENT_VERSION``; return the version found.

    Call inside a write transaction. Raises ``HistoryError`` for a database written by a newer
    ftkit, which this one must not touch.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    found = read_version(conn)
    if found is None:
        METADATA.create_all(conn)
        conn.execute(sa.insert(SCHEMA_VERSION).values(version=CURRENT_VERSION))
        return 0
    if found > CURRENT_VERSION:
        raise HistoryError(
            f"the history database is at schema version {found}, newer than this ftkit "
            f"understands ({CURRENT_VERSION}); upgrade ftkit"
        )
    for version in range(found + 1, CURRENT_VERSION + 1):
        MIGRATIONS[version](conn)
        conn.execute(sa.update(SCHEMA_VERSION).values(version=version))
    return found
