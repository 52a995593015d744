"""History belongs to its owner: hosted sessions see, open and re-run only their own runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptest_support import APP, assert_clean, goto
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.dataset.messages import Templates
from ftkit.dataset.prepare import prepare
from ftkit.history import Run, Scope, list_runs, open_store, record_run
from ftkit.history.recording import prepare_settings, record_prepare
from ftkit.hosting import output_dir_for
from ftkit.ui import state
from ftkit.ui.auth import SESSION_TOKEN_STATE
from tests.test_ui_auth import AUTH

PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
)
HOSTED = {"ftkit": {"allow_private_endpoints": True}}


@pytest.fixture(autouse=True)
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("FTKIT_DATABASE_URL", url)
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")  # the CLI's local user
    for name in (state.HOSTED_ENV, "FTKIT_ALLOWED_EMAILS", "FTKIT_ALLOWED_DOMAINS", *PROVIDER_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # the default output base, "out", is relative
    yield url
    history.close_all()


@pytest.fixture
def hosted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(state.HOSTED_ENV, "1")


def _session(secrets: dict[str, Any], user: dict[str, Any] | None = None) -> AppTest:
    """Open the dashboard as one browser session (Data page first)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets = secrets
    if user is not None:
        at.user = user
    at.run()
    assert_clean(at)
    return at


def _check_and_open_history(at: AppTest) -> Run:
    """Let the Check page record a validate run for this session; return it; open History."""
    goto(at, "check")
    newest = list_runs(kind="validate")[0]
    goto(at, "history")
    assert_clean(at)
    return newest


def _listed(at: AppTest) -> list[int]:
    if not at.dataframe:
        return []
    return list(at.dataframe[0].value["id"])


def _cli_runs(tmp_path: Path, session_owner: str) -> list[int]:
    """Runs recorded by the CLI on the server: as the local user, and under a session's id."""
    settings = dict(
        source="sample",
        train=20,
        validation=2,
        seed=1,
        strategy="first",
        templates=Templates(),
        out_dir=tmp_path / "cli-out",
    )
    result = prepare(**settings)
    return [
        record_prepare(result, prepare_settings(**settings), user="ana@example.com"),
        record_prepare(result, prepare_settings(**settings), user=session_owner),
    ]


def test_two_sessions_never_see_each_others_runs(hosted: None, tmp_path: Path) -> None:
    first, second = _session(HOSTED), _session(HOSTED)
    first_run = _check_and_open_history(first)
    second_run = _check_and_open_history(second)
    assert first_run.user != second_run.user
    assert first_run.user == first.session_state[SESSION_TOKEN_STATE]
    cli = _cli_runs(tmp_path, first_run.user)
    assert len(list_runs()) == 4  # all there, as the CLI sees them

    first.run()
    second.run()
    assert _listed(first) == [first_run.id]
    assert _listed(second) == [second_run.id]
    assert "User" not in [t.label for t in second.text_input]

    # the other session's run id, or a CLI run's, cannot be opened (nor, so, re-run)
    for foreign in (first_run.id, *cli):
        second.session_state["history_open_next"] = foreign
        second.run()
        assert second.selectbox(key="history_open").value == second_run.id
        assert second.markdown[0].value.startswith(f"**Run {second_run.id}**")

    second.session_state["history_open_next"] = first_run.id  # asked for, with the click
    second.button(key="history_rerun").click().run()
    assert_clean(second)
    again = list_runs(kind="validate")[0]
    assert (again.parent_run_id, again.user) == (second_run.id, second_run.user)
    first.run()
    assert _listed(first) == [first_run.id]


def _texts(at: AppTest) -> str:
    """Return everything the page shows as text, tables and JSON included."""
    shown = (*at.title, *at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error)
    parts: list[Any] = [e.value for e in (*shown, *at.json)]
    parts += [frame.value.to_csv() for frame in at.dataframe]
    parts += [box.value for box in at.selectbox] + [box.options for box in at.selectbox]
    return " | ".join(str(p) for p in parts)


def test_the_hosted_history_shows_no_server_path(hosted: None, tmp_path: Path, db: str) -> None:
    at = _session(HOSTED)
    goto(at, "export")
    at.button[0].click().run()
    assert_clean(at)
    exported = list_runs(kind="prepare")[0]
    folder = str((tmp_path / output_dir_for(exported.user, "out")).resolve())
    assert exported.outputs["train_path"].startswith(folder)  # the record keeps the path
    goto(at, "history")
    at.button(key="history_rerun").click().run()  # the re-run writes to the owner's folder
    assert_clean(at)
    rerun = list_runs(kind="prepare")[0]
    owner_dir = (tmp_path / output_dir_for(exported.user, "out")).resolve()
    assert Path(rerun.outputs["train_path"]).parent == owner_dir
    assert Path(rerun.outputs["train_path"]).is_file()

    at.selectbox(key="history_left").select(exported.id)
    at.selectbox(key="history_right").select(rerun.id).run()
    shown = _texts(at)
    assert "fine_tune_train.jsonl" in shown and "out_dir" in shown
    for server_path in (folder, str(tmp_path), db, "sqlite", "/tmp/"):
        assert server_path not in shown


def test_a_hosted_rerun_never_reads_a_file_on_the_server(hosted: None) -> None:
    at = _session(HOSTED)
    goto(at, "history")
    owner = at.session_state[SESSION_TOKEN_STATE]
    store = open_store().scoped(Scope(owner, "session"))
    record_run(
        "prepare",
        {"source": "/srv/data/items.csv", "sizes": {"train": 5}},
        {},
        user=owner,
        store=store,
    )
    at.run()
    assert_clean(at)
    assert "reads items.csv from the server's disk" in at.info[0].value
    assert not [b for b in at.button if b.key == "history_rerun"]
    assert "/srv/data" not in _texts(at)


def _signed_in(email: str, visibility: str) -> AppTest:
    secrets = {
        "auth": AUTH,
        "ftkit": {"allowed_domains": ["example.com"], "history_visibility": visibility},
    }
    return _session(secrets, {"is_logged_in": True, "email": email, "email_verified": True})


@pytest.mark.parametrize(("visibility", "ana_sees"), [("own", ["ana"]), ("team", ["bo", "ana"])])
def test_the_team_setting_shows_every_signed_in_users_runs(
    visibility: str, ana_sees: list[str], tmp_path: Path
) -> None:
    ana, bo = _signed_in("ana@example.com", visibility), _signed_in("bo@example.com", visibility)
    runs = {"ana": _check_and_open_history(ana), "bo": _check_and_open_history(bo)}
    assert runs["ana"].user == "ana@example.com" and runs["ana"].realm == "signed-in"
    session = open_store().scoped(Scope("session-0123", "session"))
    record_run("validate", {"model": "m"}, {}, user="session-0123", store=session)
    _cli_runs(tmp_path, "bo@example.com")  # local runs, even under a teammate's email

    ana.run()
    assert _listed(ana) == sorted((runs[name].id for name in ana_sees), reverse=True)
    assert set(ana.dataframe[0].value["user"]) == {f"{name}@example.com" for name in ana_sees}


def test_a_broken_history_never_shows_its_url_to_hosted_users(
    hosted: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTKIT_DATABASE_URL", "nosuch://db.internal/ftkit")
    at = _session(HOSTED)
    goto(at, "check")  # the check works; recording it fails with one caption
    assert not at.exception and not at.error
    (caption,) = [c.value for c in at.caption if "Not recorded in the history" in c.value]
    assert "FTKIT_DATABASE_URL: (hidden)" in caption
    goto(at, "history")
    (error,) = [e.value for e in at.error]
    assert error.startswith("FTKIT_DATABASE_URL: (hidden) is not a database URL ftkit can use")
    assert "db.internal" not in _texts(at)
