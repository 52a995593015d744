"""A damaged history database: ``ftkit history`` and the History page say one line.

A file that SQLite cannot read (cut short, overwritten, a table dropped) is named with what to
do; a single damaged row is shown as far as it can be read, with a note, and is never re-run.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.cli import main
from ftkit.history import open_store, record_run
from tests.history_db import database_url

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "history.py")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Yield a history file with 20 validate runs, closed so that a test can damage it."""
    path = tmp_path / "ftkit.db"
    store = open_store(f"sqlite:///{path}")
    for number in range(20):
        record_run(
            "validate", {"model": "m", "note": "x" * 400}, {"n": number}, user="ana", store=store
        )
    history.close_all()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("FTKIT_USER", "ana")
    monkeypatch.delenv("FTKIT_HOSTED", raising=False)
    yield path
    history.close_all()


def _sql(path: Path, statement: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement)


def _truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(1024) + b"\x00" * 7168)


def _torn_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096 : 3 * 4096] = b"\x55" * (2 * 4096)
    path.write_bytes(bytes(data))


FILE_DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "garbage": _garbage,
    "torn-page": _torn_page,
    "runs-dropped": lambda path: _sql(path, "DROP TABLE runs"),
}
ROW_DAMAGE = {
    "bad-json": (
        "UPDATE runs SET settings = '{not json', outputs = '[1,' WHERE id = 4",
        "settings is not a JSON object; outputs is not a JSON object",
    ),
    "bad-types": (
        "UPDATE runs SET settings = x'00ff', parent_run_id = 'abc', created_at = 7 WHERE id = 4",
        "settings is not a JSON object; parent_run_id is not a number",
    ),
}


@pytest.mark.parametrize("damage", sorted(FILE_DAMAGE))
@pytest.mark.parametrize(
    "argv",
    [["history"], ["history", "--id", "4"], ["history", "--json"]],
    ids=["list", "show", "json"],
)
def test_a_damaged_file_is_one_line_naming_it_and_what_to_do(
    database: Path, damage: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    FILE_DAMAGE[damage](database)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"ftkit: error: history database {database} is damaged (")
    assert err.rstrip().endswith(
        "rename the file to start a new history, or restore it from a backup"
    )


@pytest.mark.parametrize("damage", sorted(ROW_DAMAGE))
def test_a_damaged_row_is_listed_with_a_note(
    database: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    statement, what = ROW_DAMAGE[damage]
    _sql(database, statement)
    assert main(["history", "--limit", "100"]) == 0
    out, err = capsys.readouterr()
    note = f"history database {database}: run 4 is damaged ({what}); shown as far as it can be read"
    assert err == f"ftkit: note: {note}\n"
    assert len(out.splitlines()) == 21
    assert main(["history", "--id", "4", "--json"]) == 0
    assert '"unreadable"' in capsys.readouterr().out


@pytest.mark.parametrize("damage", sorted(ROW_DAMAGE))
def test_a_damaged_row_is_never_re_run(
    database: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    statement, what = ROW_DAMAGE[damage]
    _sql(database, statement)
    assert main(["history", "--rerun", "4"]) == 2
    err = capsys.readouterr().err
    assert err == f"ftkit: error: run 4: cannot be re-run, its record is damaged ({what})\n"
    history.close_all()
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (20,)


def test_a_run_missing_a_recorded_setting_is_not_re_run(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql(database, "UPDATE runs SET settings = '{}' WHERE id = 4")
    assert main(["history", "--rerun", "4"]) == 2
    assert (
        capsys.readouterr().err
        == "ftkit: error: run 4: cannot be re-run, its recorded settings lack 'model'\n"
    )


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.secrets = {"ftkit": {}}
    return at.run()


@pytest.mark.parametrize("damage", sorted(FILE_DAMAGE))
def test_the_page_shows_a_damaged_file_in_one_line(database: Path, damage: str) -> None:
    FILE_DAMAGE[damage](database)
    at = _page()
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("history database ")
    assert "is damaged" in at.error[0].value and "rename the file" in at.error[0].value


@pytest.mark.parametrize("damage", sorted(ROW_DAMAGE))
def test_the_page_lists_a_damaged_row_with_a_warning(database: Path, damage: str) -> None:
    _sql(database, ROW_DAMAGE[damage][0])
    at = _page()
    assert not at.exception and not at.error
    assert len(at.warning) == 1
    assert "1 damaged run(s)" in at.warning[0].value and "run 4:" in at.warning[0].value
    assert len(at.dataframe[0].value) == 20


def test_a_dropped_table_on_postgresql_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with database_url("postgresql", tmp_path) as url:
        store = open_store(url)
        record_run("validate", {"model": "m"}, {}, user="ana", store=store)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE runs")
        try:
            assert main(["history", "--database", url]) == 2
        finally:
            history.close_all()
    err = capsys.readouterr().err
    assert err.startswith("ftkit: error: history database postgresql+psycopg://")
    assert "is damaged (" in err and err.rstrip().endswith(
        "restore it from a backup or set FTKIT_DATABASE_URL to a new database"
    )
    assert "ftkit:ftkit@" not in err
