"""The History page, driven through AppTest against a real SQLite history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.dataset.messages import Templates
from ftkit.dataset.prepare import prepare
from ftkit.history import get_run, list_runs, open_store, record_run
from ftkit.history.recording import prepare_settings, record_prepare
from tests.apptest_support import as_read

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "history.py")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("FTKIT_DATABASE_URL", url)
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    monkeypatch.delenv("FTKIT_HOSTED", raising=False)
    yield url
    history.close_all()


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.secrets = {"ftkit": {}}
    return at.run()


def _prepare(tmp_path: Path, seed: int, strategy: str = "first") -> int:
    settings = dict(
        source="sample",
        train=30,
        validation=3,
        seed=seed,
        strategy=strategy,
        templates=Templates(),
        out_dir=tmp_path / "out",
    )
    result = prepare(**settings)
    return record_prepare(result, prepare_settings(**settings), user="ana@example.com")


def test_an_empty_history_says_so(db: str) -> None:
    at = _page()
    assert not at.exception
    assert "No runs recorded yet" in at.info[0].value


def test_a_bad_database_url_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTKIT_DATABASE_URL", "nosuch://db")
    at = _page()
    assert not at.exception
    assert len(at.error) == 1 and "FTKIT_DATABASE_URL" in at.error[0].value


def test_list_filter_open_compare(db: str, tmp_path: Path) -> None:
    first = _prepare(tmp_path, seed=42)
    second = _prepare(tmp_path, seed=7, strategy="random")
    metrics = {"metrics": {"mean_abs_error": 81.5, "hits": 0.52}}
    record_run("evaluate", {"model": "ft:gpt-4o-mini:acme::1"}, metrics, user="bo@example.com")
    at = _page()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["id"]) == [3, second, first]
    assert list(table["user"]) == ["bo@example.com", "ana@example.com", "ana@example.com"]

    at.selectbox(key="history_kind").select("prepare").run()
    assert list(at.dataframe[0].value["id"]) == [second, first]
    at.text_input(key="history_user").input("bo@example.com").run()
    assert at.info and "No runs recorded yet" in at.info[0].value
    at.text_input(key="history_user").input("").run()

    at.selectbox(key="history_open").select(first).run()
    assert f"**Run {first}**: prepare, succeeded" in at.markdown[0].value
    assert at.json[0].value and '"seed": 42' in at.json[0].value

    at.selectbox(key="history_left").select(first).run()
    at.selectbox(key="history_right").select(second).run()
    diff = at.dataframe[1].value
    assert dict(zip(diff["setting"], diff.iloc[:, 2], strict=True)) == {
        "seed": "7",
        "strategy": "random",
    }
    metrics = at.dataframe[2].value
    assert "train_count" in set(metrics["metric"])
    assert not at.get("vega_lite_chart")  # counts stay in the table: no chart of them


def test_rerun_records_a_new_run_with_the_same_settings(db: str, tmp_path: Path) -> None:
    first = _prepare(tmp_path, seed=5, strategy="stratified")
    at = _page()
    at.button(key="history_rerun").click().run()
    assert not at.exception
    assert f"Recorded run 2, a re-run of run {first}." in at.success[0].value
    again = get_run(2, store=open_store(db))
    assert again.parent_run_id == first
    assert again.settings == get_run(first, store=open_store(db)).settings
    assert again.outputs["train_hash"] == get_run(first, store=open_store(db)).outputs["train_hash"]
    assert at.selectbox(key="history_open").value == 2
    assert len(list_runs(store=open_store(db))) == 2


def test_kinds_that_cannot_be_rerun_say_so(db: str) -> None:
    record_run("upload", {"model": "m"}, {"file_id": "file-abc"}, user="ana")
    at = _page()
    assert not at.exception
    assert not [b for b in at.button if b.key == "history_rerun"]
    assert any("can be re-run from here" in c.value for c in at.caption)
    assert "Record a second run" in at.info[0].value


def _evaluation(model: str, error: float, r2: float) -> int:
    metrics = {
        "average_error": error,
        "rmsle": 0.9616,
        "hit_rate_pct": 46.8,
        "mse": 23792.3544,
        "r2": r2,
        "unparsed": 0,
        "scored": 250,
    }
    outputs = {"metrics": metrics, "requested": 250, "failed": 0, "stopped": None}
    return record_run("evaluate", {"model": model}, outputs, user="ana@example.com")


def test_history_reads_at_a_glance(db: str, tmp_path: Path) -> None:
    older = _evaluation("baseline:mean", 120.7735, -0.001)
    _prepare(tmp_path, seed=42)
    newest = _evaluation("ft:gpt-4o-mini:acme::1", 80.5, 0.25)
    at = _page()
    assert not at.exception
    assert [h.value for h in at.header] == ["History"] and not at.title
    opened = at.selectbox(key="history_open")
    assert opened.format_func(newest).startswith("#3 ft:gpt-4o-mini:acme::1 · evaluate · ")
    lines = [as_read(m.value) for m in at.markdown]
    assert any(
        line.startswith("Average error $80.50 · RMSLE 0.96 · Hits 46.8%") for line in lines
    ), lines

    # the comparison starts with the newest run and the last run of its kind, not the prepare
    assert at.selectbox(key="history_left").value == older
    assert at.selectbox(key="history_right").value == newest
    metrics = at.dataframe[2].value
    assert list(metrics.columns) == ["metric", "#1 baseline:mean", "#3 ft:gpt-4o-mini:acme::1"]
    values = dict(zip(metrics["metric"], metrics["#1 baseline:mean"], strict=True))
    assert values["average_error"] == "$120.77"
    assert values["hit_rate_pct"] == "46.8%"
    assert values["r2"] == "0.00"
    assert values["requested"] == "250"
    titles = [json.loads(c.proto.spec)["title"] for c in at.get("vega_lite_chart")]
    assert titles == ["Average error", "RMSLE", "Hits (%)", "MSE", "R²"]  # no counts
