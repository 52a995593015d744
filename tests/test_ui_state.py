"""Session-state keys, the hosted switch and the router's optional pages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apptest_support import ROOT, assert_clean
from streamlit.testing.v1 import AppTest

from ftkit.ui import state


def test_the_upload_pages_contract_keys() -> None:
    assert state.EXPORT_TRAIN_PATH == "export_train_path"
    assert state.EXPORT_VALIDATION_PATH == "export_validation_path"
    for key in (
        state.DATASET_HASH,
        state.DATASET_SOURCE,
        state.SEED,
        state.TRAIN_SIZE,
        state.VALIDATION_SIZE,
        state.STRATEGY,
        state.SYSTEM_PROMPT,
        state.USER_TEMPLATE,
        state.ASSISTANT_TEMPLATE,
    ):
        assert key in state.DEFAULTS


def router_copy(tmp_path: Path, pages: list[str]) -> Path:
    shutil.copy(ROOT / "streamlit_app.py", tmp_path / "streamlit_app.py")
    (tmp_path / "app_pages").mkdir()
    for page in pages:
        shutil.copy(ROOT / "app_pages" / page, tmp_path / "app_pages" / page)
    return tmp_path / "streamlit_app.py"


def test_the_router_includes_optional_pages_only_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)
    app = router_copy(tmp_path, ["data.py", "compose.py"])
    at = AppTest.from_file(str(app), default_timeout=60).run()
    assert_clean(at)
    with pytest.raises(ValueError):
        at.switch_page("app_pages/evaluate.py")
    (tmp_path / "app_pages" / "evaluate.py").write_text(
        "import streamlit as st\nst.header('Evaluate')\n"
    )
    at = AppTest.from_file(str(app), default_timeout=60).run()
    at.switch_page("app_pages/evaluate.py").run()
    assert at.header[0].value == "Evaluate"
    assert any("Local single-user mode" in c.value for c in at.sidebar.caption)


def test_the_sidebar_says_hosted_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(state.HOSTED_ENV, "1")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert any("Hosted mode" in c.value for c in at.sidebar.caption)
