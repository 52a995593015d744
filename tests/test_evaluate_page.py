"""AppTest for the Evaluate page: a baseline run offline, no key, a chat model on a fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_support import assert_clean, goto, open_app
from tests.fake_chat import serve

CHAT = "Chat model (OpenAI, Azure or compatible)"
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


def run_baseline(at: AppTest, name: str, size: int = 30) -> AppTest:
    at.selectbox(key="evaluate_predictor").select(name).run()
    at.number_input(key="evaluate_size").set_value(size).run()
    return at.button(key="evaluate_run").click().run()


def chart_titles(at: AppTest) -> list[str]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    return [str(spec.get("title", "")) for spec in specs]


def test_after_a_new_evaluation_the_page_shows_the_new_run() -> None:
    at = run_baseline(page(), "baseline:mean")
    run_baseline(at, "baseline:regression")
    assert at.selectbox(key="evaluate_shown").value == 1
    assert chart_titles(at)[0].startswith("baseline:regression Error=$")
    at.selectbox(key="evaluate_shown").select(0).run()  # the user can still look back
    assert chart_titles(at)[0].startswith("baseline:mean Error=$")
    run_baseline(at, "baseline:random")
    assert at.selectbox(key="evaluate_shown").value == 2


def test_metrics_read_formatted_and_r2_is_never_minus_zero() -> None:
    at = run_baseline(page(), "baseline:mean", 250)
    shown = metrics(at)
    assert shown["R²"] == "0.00"  # the mean's R² is a hair below zero
    assert shown["Average error"].startswith("$") and shown["Hits"].endswith("%")
    assert len(shown["RMSLE"].split(".")[1]) == 2


def test_the_items_table_shows_dollars_and_coloured_hits() -> None:
    at = run_baseline(page(), "baseline:mean")
    items = at.dataframe[0]
    assert list(items.value.columns) == ["Title", "Truth", "Estimate", "Error", "Hit", "Answer"]
    styler = items.proto.arrow_data.styler
    assert b"$" in styler.display_values
    assert "background-color" in styler.styles


def test_the_comparison_defaults_to_the_last_two_runs_formatted() -> None:
    at = run_baseline(page(), "baseline:mean")
    run_baseline(at, "baseline:random")
    run_baseline(at, "baseline:regression")
    assert at.multiselect(key="evaluate_compare").value == [1, 2]
    table = at.dataframe[-1].value
    assert list(table["Run"]) == ["baseline:random", "baseline:regression"]
    assert all(value.startswith("$") for value in table["Average error"])
    assert all(value.endswith("%") for value in table["Hits"])


def test_the_scatter_has_a_log_scale_option() -> None:
    at = run_baseline(page(), "baseline:mean")
    assert '"type": "log"' not in at.get("vega_lite_chart")[0].proto.spec
    at.toggle(key="evaluate_log_scale").set_value(True).run()
    assert '"type": "log"' in at.get("vega_lite_chart")[0].proto.spec


def test_settings_are_kept_when_the_user_visits_another_page_and_comes_back() -> None:
    at = run_baseline(page(), "baseline:regression", 40)
    at.toggle(key="evaluate_log_scale").set_value(True).run()
    goto(at, "data")
    goto(at, "evaluate")
    assert_clean(at)
    assert at.selectbox(key="evaluate_predictor").value == "baseline:regression"
    assert at.number_input(key="evaluate_size").value == 40
    assert at.toggle(key="evaluate_log_scale").value is True
    at.selectbox(key="evaluate_predictor").select(CHAT).run()
    at.text_input(key="evaluate_model").input("gpt-4o-mini").run()
    at.number_input(key="evaluate_workers").set_value(3).run()
    goto(at, "history")
    goto(at, "evaluate")
    assert at.text_input(key="evaluate_model").value == "gpt-4o-mini"
    assert at.number_input(key="evaluate_workers").value == 3


def test_a_local_model_needs_no_key_and_no_paid_review(tmp_path: Path) -> None:
    at = page()
    at.selectbox(key="evaluate_predictor").select(CHAT).run()
    at.text_input(key="evaluate_model").input(f"local:{tmp_path}").run()
    assert_clean(at)
    assert any("Local model" in c.value for c in at.caption)
    assert not any("API key" in info.value for info in at.info)
    assert not [b for b in at.button if b.key == "evaluate_review"]
    at.button(key="evaluate_run").click().run()  # an empty folder: one line, no traceback
    assert not at.exception and len(at.error) == 1


def test_after_a_run_the_page_ends_with_the_next_step_history() -> None:
    at = run_baseline(page(), "baseline:mean")
    links = at.get("page_link")
    assert links and links[-1].proto.label == "Next: History"
