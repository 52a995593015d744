"""Who sees which run: a scoped store sees its owner's runs only, in the query itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ftkit.history as history
from ftkit.errors import ConfigError, HistoryError
from ftkit.history import (
    HistoryStore,
    Scope,
    get_run,
    list_runs,
    open_store,
    record_run,
    update_run,
)
from ftkit.hosting import HostingConfig
from tests.history_db import BACKENDS, database_url

ANA = Scope("ana@example.com", "signed-in")
BO = Scope("bo@example.com", "signed-in")
ANA_TEAM = Scope("ana@example.com", "signed-in", team=True)
SESSION_1 = Scope("session-1111", "session")
SESSION_1_TEAM = Scope("session-1111", "session", team=True)
SESSION_2 = Scope("session-2222", "session")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    with database_url(request.param, tmp_path) as url:
        yield open_store(url)
        history.close_all()


def _record(store: HistoryStore, scope: Scope | None, user: str = "cli-user") -> int:
    return record_run("prepare", {"seed": 1}, {}, user=user, store=store.scoped(scope))


@pytest.fixture
def runs(store: HistoryStore) -> dict[str, int]:
    """One run per owner, plus CLI runs whose local user name matches a hosted owner."""
    return {
        "ana": _record(store, ANA),
        "bo": _record(store, BO),
        "session 1": _record(store, SESSION_1),
        "session 2": _record(store, SESSION_2),
        "cli": _record(store, None),
        "cli as ana": _record(store, None, user="ana@example.com"),
        "cli as session 1": _record(store, None, user="session-1111"),
    }


@pytest.mark.parametrize(
    ("scope", "sees"),
    [
        (None, ["ana", "bo", "session 1", "session 2", "cli", "cli as ana", "cli as session 1"]),
        (ANA, ["ana"]),
        (BO, ["bo"]),
        (ANA_TEAM, ["ana", "bo"]),
        (SESSION_1, ["session 1"]),
        (SESSION_1_TEAM, ["session 1"]),  # team needs sign-in: a session is nobody's teammate
        (SESSION_2, ["session 2"]),
    ],
    ids=["local", "ana", "bo", "ana team", "session 1", "session 1 team", "session 2"],
)
def test_each_scope_lists_and_opens_only_what_it_may_see(
    store: HistoryStore, runs: dict[str, int], scope: Scope | None, sees: list[str]
) -> None:
    scoped = store.scoped(scope)
    assert sorted(r.id for r in list_runs(store=scoped)) == sorted(runs[name] for name in sees)
    for name, run_id in runs.items():
        if name in sees:
            assert get_run(run_id, store=scoped).id == run_id
        else:
            with pytest.raises(HistoryError, match=rf"^run {run_id}: no such run$"):
                get_run(run_id, store=scoped)


def test_a_scoped_store_records_as_its_owner_and_realm(store: HistoryStore) -> None:
    run_id = record_run("validate", {}, {}, user="someone else", store=store.scoped(SESSION_1))
    run = get_run(run_id, store=store)
    assert (run.user, run.realm) == ("session-1111", "session")
    assert (get_run(_record(store, None), store=store).realm) == "local"


def test_a_scoped_store_cannot_update_another_owners_run(
    store: HistoryStore, runs: dict[str, int]
) -> None:
    with pytest.raises(HistoryError, match="no such run"):
        update_run(runs["ana"], status="failed", store=store.scoped(SESSION_1))
    assert get_run(runs["ana"], store=store).status == "succeeded"
    assert update_run(runs["ana"], status="failed", store=store.scoped(ANA)).status == "failed"


@pytest.mark.parametrize(
    ("owner", "realm"), [("", "session"), ("ana", "local"), ("ana", "nowhere")]
)
def test_a_scope_needs_an_owner_and_a_hosted_realm(owner: str, realm: str) -> None:
    with pytest.raises(HistoryError):
        Scope(owner, realm)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("section", "visibility"),
    [
        ({}, "own"),
        ({"history_visibility": "own"}, "own"),
        ({"history_visibility": " Team "}, "team"),
    ],
)
def test_history_visibility_is_own_unless_the_operator_says_team(
    section: dict[str, str], visibility: str
) -> None:
    config = HostingConfig.from_mapping({"hosted": True, "ftkit": section}, env={})
    assert config.history_visibility == visibility


@pytest.mark.parametrize("value", ["everyone", "", 1])
def test_a_wrong_history_visibility_names_the_setting(value: object) -> None:
    with pytest.raises(ConfigError, match=r'^ftkit.history_visibility: expected "own" or "team"'):
        HostingConfig.from_mapping({"ftkit": {"history_visibility": value}}, env={})
