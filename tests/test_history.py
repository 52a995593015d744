"""Run history on SQLite always and on PostgreSQL when one is running."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

import ftkit.history as history
from ftkit.errors import HistoryError
from ftkit.history import (
    CURRENT_VERSION,
    HistoryStore,
    diff_settings,
    get_run,
    list_runs,
    open_store,
    record_run,
    update_run,
)
from ftkit.history.schema import V1_METADATA
from tests.history_db import BACKENDS, database_url

SETTINGS = {
    "dataset_hash": "sha256:abc",
    "seed": 42,
    "strategy": "first",
    "sizes": {"train": 500, "validation": 50},
    "templates": {"system": "You estimate prices of items."},
    "model": "gpt-4o-mini-2024-07-18",
    "hyperparameters": {"n_epochs": 1},
}


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url
        history.close_all()


@pytest.fixture
def store(db_url: str) -> HistoryStore:
    return open_store(db_url)


def test_public_surface() -> None:
    assert sorted(history.__all__) == sorted(
        [
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
    )
    assert all(hasattr(history, name) for name in history.__all__)
    assert history.KINDS == ("prepare", "validate", "upload", "finetune", "evaluate")


def test_record_get_update_list(store: HistoryStore) -> None:
    when = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    first = record_run(
        "prepare",
        SETTINGS,
        {"train_path": "out/t.jsonl"},
        user="ana@example.com",
        created_at=when,
        store=store,
    )
    second = record_run(
        "finetune",
        {**SETTINGS, "seed": 7},
        {"job_id": "ftjob-1"},
        user="bo@example.com",
        status="running",
        parent_run_id=first,
        store=store,
    )
    assert second > first
    run = get_run(first, store=store)
    assert (run.kind, run.user, run.status) == ("prepare", "ana@example.com", "succeeded")
    assert run.created_at == "2026-11-26T09:30:00+00:00"
    assert run.settings == SETTINGS
    assert run.outputs == {"train_path": "out/t.jsonl"}

    done = update_run(
        second,
        outputs={"fine_tuned_model": "ft:gpt-4o-mini:acme::x"},
        status="succeeded",
        store=store,
    )
    assert done.outputs == {"job_id": "ftjob-1", "fine_tuned_model": "ft:gpt-4o-mini:acme::x"}
    assert done.status == "succeeded"
    assert done.parent_run_id == first

    assert [r.id for r in list_runs(store=store)] == [second, first]
    assert [r.id for r in list_runs("prepare", store=store)] == [first]
    assert [r.id for r in list_runs(user="bo@example.com", store=store)] == [second]
    assert [r.id for r in list_runs(limit=1, store=store)] == [second]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: record_run("train", {}, {}, user="u", store=s), "kind: 'train' is not one of"),
        (lambda s: record_run("prepare", {}, {}, user="u", status="ok", store=s), "status: 'ok'"),
        (lambda s: record_run("prepare", [], {}, user="u", store=s), "settings: expected a map"),
        (lambda s: get_run(999, store=s), "run 999: no such run"),
        (lambda s: update_run(999, status="failed", store=s), "run 999: no such run"),
    ],
)
def test_bad_calls_are_one_line_errors(store: HistoryStore, call, message: str) -> None:
    with pytest.raises(HistoryError, match=message):
        call(store)


def test_keys_are_never_stored(store: HistoryStore) -> None:
    key = "sk-proj-" + "A1b2C3d4" * 6
    settings = {
        **SETTINGS,
        "api_key": key,
        "OPENAI_API_KEY": key,
        "headers": {"Authorization": f"Bearer {key}", "accept": "json"},
        "client": {"token": "t0ps3cret", "password": "hunter2", "trained_tokens": 1200},
        "note": f"ran with {key} by mistake",
        "argv": ["--key", key],
    }
    run_id = record_run(
        "upload", settings, {"file_id": "file-1", "secret": "x"}, user="ana", store=store
    )
    run = get_run(run_id, store=store)
    assert "api_key" not in run.settings and "OPENAI_API_KEY" not in run.settings
    assert run.settings["headers"] == {"accept": "json"}
    assert run.settings["client"] == {"trained_tokens": 1200}
    assert run.settings["note"] == "ran with [redacted] by mistake"
    assert run.outputs == {"file_id": "file-1"}
    with store.read() as conn:
        raw = " ".join(str(v) for row in conn.exec_driver_sql("SELECT * FROM runs") for v in row)
    for secret in (key, "A1b2C3d4", "t0ps3cret", "hunter2"):
        assert secret not in raw


def test_diff_settings_names_each_changed_setting() -> None:
    a = {"seed": 42, "sizes": {"train": 500, "validation": 50}, "model": "m"}
    b = {"seed": 7, "sizes": {"train": 500, "validation": 100}, "epochs": 3, "model": "m"}
    assert [(c.key, c.left, c.right) for c in diff_settings(a, b)] == [
        ("epochs", None, 3),
        ("seed", 42, 7),
        ("sizes.validation", 50, 100),
    ]
    assert diff_settings(a, a) == []


def test_sqlite_file_is_created_on_first_use_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FTKIT_DATABASE_URL", raising=False)
    try:
        record_run("validate", {"model": "m"}, {"ok": True}, user="me")
        assert (tmp_path / ".ftkit" / "ftkit.db").is_file()
        assert [r.kind for r in list_runs()] == ["validate"]
        with open_store().read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        history.close_all()


def test_database_url_env_wins_over_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'team.db'}")
    assert history.database_url(base_dir=tmp_path) == f"sqlite:///{tmp_path / 'team.db'}"
    assert history.database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_bad_url_is_one_line_and_hides_the_password() -> None:
    with pytest.raises(HistoryError) as caught:
        open_store("nosuchdb+driver://ana:pa55word@db.example/ftkit")
    assert "pa55word" not in str(caught.value)
    assert "FTKIT_DATABASE_URL" in str(caught.value)


# --- schema upgrades -------------------------------------------------------------------------


def _make_v1_database(url: str) -> None:
    database = sa.make_url(url).database
    if url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        V1_METADATA.create_all(conn)
        conn.execute(V1_METADATA.tables["schema_version"].insert().values(version=1))
        runs = V1_METADATA.tables["runs"]
        for n in range(3):
            conn.execute(
                runs.insert().values(
                    kind="prepare",
                    created_at=f"2026-10-0{n + 1}T00:00:00+00:00",
                    status="succeeded",
                    settings=f'{{"seed": {n}}}',
                    outputs='{"train_count": 500}',
                )
            )
    engine.dispose()


def test_a_version_1_database_upgrades_in_place_and_keeps_its_rows(db_url: str) -> None:
    _make_v1_database(db_url)
    store = open_store(db_url)
    with store.read() as conn:
        assert history.read_version(conn) == CURRENT_VERSION
        columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
    assert {"username", "parent_run_id", "realm"} <= columns
    old = list(reversed(list_runs(store=store)))
    assert [(r.id, r.settings, r.outputs, r.user, r.realm) for r in old] == [
        (1, {"seed": 0}, {"train_count": 500}, "", "local"),
        (2, {"seed": 1}, {"train_count": 500}, "", "local"),
        (3, {"seed": 2}, {"train_count": 500}, "", "local"),
    ]
    assert old[0].created_at == "2026-10-01T00:00:00+00:00"
    new = record_run("prepare", {"seed": 9}, {}, user="ana", parent_run_id=1, store=store)
    assert new == 4
    assert get_run(4, store=store).parent_run_id == 1


def test_a_database_from_a_newer_ftkit_is_left_alone(db_url: str) -> None:
    open_store(db_url)
    history.close_all()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE schema_version SET version = {CURRENT_VERSION + 1}")
    engine.dispose()
    with pytest.raises(HistoryError, match="newer than this ftkit"):
        open_store(db_url)


# --- concurrent writers ----------------------------------------------------------------------

WRITERS = 4
RECORDS = 50
ROOT = Path(__file__).resolve().parent.parent


def test_four_processes_writing_at_once_lose_nothing(db_url: str, tmp_path: Path) -> None:
    open_store(db_url)
    history.close_all()
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.history_worker", db_url, str(w), str(go)], cwd=ROOT
        )
        for w in range(WRITERS)
    ]
    time.sleep(0.5)  # let them import and connect, then start all at once
    go.touch()
    assert [p.wait(120) for p in workers] == [0] * WRITERS

    store = open_store(db_url)
    runs = list_runs(limit=10_000, store=store)
    assert len(runs) == WRITERS * RECORDS
    assert len({r.id for r in runs}) == WRITERS * RECORDS
    seen = sorted((r.settings["worker"], r.settings["n"]) for r in runs)
    assert seen == [(w, n) for w in range(WRITERS) for n in range(RECORDS)]
    assert sum(1 for r in runs if r.outputs == {"checked": True}) == WRITERS * RECORDS // 10
    assert all(r.user == f"w{r.settings['worker']}" for r in runs)
    if store.dialect == "sqlite":
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
