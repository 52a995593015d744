"""A hosted session that forges its state never reaches another person's runs or files."""

from __future__ import annotations

import pytest
from apptest_support import assert_clean, goto

from ftkit.hosting import output_dir_for
from ftkit.ui.auth import USER_STATE
from tests.test_page_history_owners import (  # noqa: F401 (fixtures)
    HOSTED,
    _check_and_open_history,
    _listed,
    _session,
    _signed_in,
    db,
    hosted,
)


@pytest.mark.usefixtures("hosted")
def test_a_forged_email_without_sign_in_sees_no_ones_runs() -> None:
    ana = _signed_in("ana@example.com", "own")
    ana_run = _check_and_open_history(ana)
    forger = _session(HOSTED)  # hosted, no [auth]: nobody is signed in
    forger.session_state[USER_STATE] = "ana@example.com"
    goto(forger, "history")
    assert ana_run.id not in _listed(forger)
    goto(forger, "check")  # what it records is its own, not ana's
    goto(forger, "history")
    assert _listed(forger) and ana_run.id not in _listed(forger)


@pytest.mark.usefixtures("hosted")
def test_a_forged_email_without_sign_in_gets_no_ones_workspace() -> None:
    theirs = output_dir_for("ana@example.com", "out")
    theirs.mkdir(parents=True)
    (theirs / "ana_train.jsonl").write_text('{"messages": []}\n')
    forger = _session(HOSTED)
    forger.session_state[USER_STATE] = "ana@example.com"
    goto(forger, "train")
    assert_clean(forger)
    assert "ana_train.jsonl" not in forger.selectbox(key="upload_train_file").options


def test_a_signed_in_session_cannot_claim_another_email() -> None:
    ana = _signed_in("ana@example.com", "own")
    ana_run = _check_and_open_history(ana)
    bo = _signed_in("bo@example.com", "own")
    bo.session_state[USER_STATE] = "ana@example.com"
    goto(bo, "history")
    assert ana_run.id not in _listed(bo)


def test_a_teammates_recorded_model_name_is_shown_as_typed_never_as_markdown() -> None:
    from ftkit.history import Scope, open_store, record_run

    beacon = "![seen](http://tracker.example/pixel.png)"
    ana = _signed_in("ana@example.com", "team")
    bo = open_store().scoped(Scope("bo@example.com", "signed-in", team=True))
    record_run(
        "evaluate",
        {"model": beacon, "base_url": "http://tracker.example/v1", "size": 3},
        {},
        user="bo@example.com",
        store=bo,
    )
    goto(ana, "history")
    assert_clean(ana)
    infos = [i.value for i in ana.info]
    assert any(f"`{beacon}`" in info for info in infos)
