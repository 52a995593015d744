"""Databases for the history tests: a fresh SQLite file, or a fresh schema on PostgreSQL.

PostgreSQL comes from ``$FTKIT_TEST_POSTGRES_URL`` (``.ci/run`` starts one on loopback); without
it those cases skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES_ENV = "FTKIT_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield a URL to an empty database of ``backend``; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / '.ftkit' / 'ftkit.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"no PostgreSQL: set {POSTGRES_ENV} (.ci/run starts one on loopback)")
    schema = f"ftkit_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as err:
        admin.dispose()
        pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL cannot be reached: {err.orig}")
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
