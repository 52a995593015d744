"""AppTest for the Evaluate page: a baseline run offline, no key, a chat model on a fake server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_support import goto, open_app
from tests.fake_chat import serve

KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def page() -> AppTest:
    at = open_app("evaluate")
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_baseline_run_shows_metrics_and_charts_offline() -> None:
    at = page()
    assert "Run an evaluation" in at.info[0].value
    at.selectbox(key="evaluate_predictor").select("baseline:regression").run()
    at.button(key="evaluate_run").click().run()
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["Average error"].startswith("$") and shown["Hits"].endswith("%")
    assert shown["Unparsed"] == "0"
    assert len(at.get("vega_lite_chart")) == 3
    assert len(at.session_state["evaluate_runs"]) == 1
    assert at.session_state["evaluate_runs"][0]["size"] == 250


def test_two_runs_are_compared_side_by_side() -> None:
    at = page()
    at.selectbox(key="evaluate_predictor").select("baseline:mean").run()
    at.number_input(key="evaluate_size").set_value(40).run()
    at.button(key="evaluate_run").click().run()
    at.selectbox(key="evaluate_predictor").select("baseline:random").run()
    at.button(key="evaluate_run").click().run()
    assert not at.exception
    assert at.subheader[0].value == "Compare runs"
    assert len(at.get("vega_lite_chart")) == 3 + 4  # the shown run's three, the comparison's four
    assert list(at.dataframe[-1].value["Run"]) == ["baseline:mean", "baseline:random"]


def test_a_chat_model_without_a_key_says_what_to_set() -> None:
    at = page()
    at.selectbox(key="evaluate_predictor").select_index(3).run()
    at.text_input(key="evaluate_model").input("gpt-4o-mini").run()
    assert not at.exception
    assert any("OPENAI_API_KEY" in info.value for info in at.info)
    assert not at.button  # nothing to run until a key is set


def test_a_chat_model_runs_against_the_sidebars_endpoint_after_a_confirm() -> None:
    def reply(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        return ("answer", "30")

    with serve(reply) as fake:
        at = page()
        at.sidebar.text_input(key="_input_openai_api_key").input("sk-typed")
        at.sidebar.text_input(key="_input_openai_base_url").input(fake.url).run()
        at.selectbox(key="evaluate_predictor").select_index(3).run()
        at.text_input(key="evaluate_model").input("gpt-4o-mini").run()
        at.number_input(key="evaluate_size").set_value(5).run()
        assert any("Estimated cost" in c.value for c in at.main.caption)
        assert f"Endpoint: {fake.url} · key from this session" in [c.value for c in at.caption]
        at.button(key="evaluate_review").click().run()
        assert fake.requests == []  # reviewing sends nothing
        at.button(key="evaluate_confirm").click().run()
    assert not at.exception and not at.error
    assert len(fake.requests) == 5 and metrics(at)["Unparsed"] == "0"
    assert fake.authorizations == ["Bearer sk-typed"] * 5


def test_a_run_cut_short_by_a_rerun_keeps_what_finished() -> None:
    at = page()
    at.session_state["evaluate_partial"] = {
        "model": "gpt-4o-mini",
        "source": "sample",
        "requested": 250,
        "items": [{"title": "Kettle", "truth": 40.0, "guess": 45.0, "parsed": True}],
    }
    at.run()
    assert not at.exception
    assert "interrupted after 1 of 250 items; its 1 scored items are kept" in at.warning[0].value
    assert at.session_state["evaluate_runs"][0]["stopped"] == "interrupted"
    assert metrics(at)["Average error"] == "$5.00"


def test_the_model_upload_and_train_produced_is_ready_to_score() -> None:
    at = open_app()
    at.session_state["finetuned_model"] = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
    goto(at, "evaluate")
    assert not at.exception
    assert at.selectbox(key="evaluate_predictor").value.startswith("Chat model")
    assert at.text_input(key="evaluate_model").value == "ft:gpt-4o-mini-2024-07-18:acme::abc123"
    at.text_input(key="evaluate_model").input("gpt-4o-mini").run()  # the user's edit sticks
    assert at.text_input(key="evaluate_model").value == "gpt-4o-mini"
