"""Evaluate: the course's Tester for any chat model or baseline, its charts, and comparisons."""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd
import streamlit as st

from ftkit.chat import ChatPredictor
from ftkit.clients import make_client
from ftkit.errors import FtkitError
from ftkit.eval_charts import band_chart, comparison_chart, course_chart, running_error_chart
from ftkit.evaluate import DEFAULT_SIZE, DEFAULT_WORKERS, Progress, Run, estimate_cost, evaluate
from ftkit.predictors import BASELINES, Predictor, is_baseline, needs_training
from ftkit.recorders import evaluate_settings, record_evaluate
from ftkit.runs import compare_runs, run_filename, run_from_json, run_to_csv, run_to_json
from ftkit.ui.auth import hosting_config
from ftkit.ui.evaluation import NOTHING_HELD_OUT, baseline_for, page_items, record_fields
from ftkit.ui.history import record_from_page
from ftkit.ui.keys import find_api_key
from ftkit.ui.providers import render_provider_sidebar

CHAT = "Chat model (OpenAI, Azure or compatible)"
RUNS, PARTIAL = "evaluate_runs", "evaluate_partial"
st.session_state.setdefault(RUNS, [])
st.session_state.setdefault(PARTIAL, None)


def stop_with_error(err: FtkitError) -> None:
    st.error(str(err), icon=":material/error:")
    st.stop()


st.header("Evaluate")
render_provider_sidebar()
st.caption(
    "The course's Tester: ask a model the price of each test item, score the answer "
    "(green under $40 or 20%, orange under $80 or 40%, red otherwise) and chart it. "
    "The baselines need no API key."
)

# A run cut short by a rerun or the Stop button: keep what finished.
if (partial := st.session_state[PARTIAL]) is not None:
    st.session_state[PARTIAL] = None
    if partial["items"]:
        st.session_state[RUNS].append({**partial, "stopped": "interrupted"})
        st.warning(
            f"The last run stopped early; its {len(partial['items'])} scored items are kept."
        )

# The model a job on Upload & Train just produced is the one to score next.
finetuned = st.session_state.get("finetuned_model")
if finetuned and not st.session_state.get("evaluate_model"):
    st.session_state["evaluate_model"] = finetuned
    st.session_state["evaluate_predictor"] = CHAT
choice = st.selectbox("Model", [*BASELINES, CHAT], key="evaluate_predictor")
model, base_url = choice, ""
if choice == CHAT:
    model_col, url_col = st.columns([3, 2])
    model = model_col.text_input(
        "Model name", key="evaluate_model", placeholder="ft:gpt-4o-mini-2024-07-18:org::id"
    ).strip()
    base_url = url_col.text_input(
        "Base URL (optional)", key="evaluate_base_url", placeholder="http://localhost:11434/v1"
    ).strip()

upload = st.file_uploader(
    "Separate test file (optional: CSV, JSONL, JSON or Parquet; default: the current "
    "dataset's held-out items)",
    key="evaluate_upload",
)
try:
    picked = page_items(upload, fit_baselines=needs_training(choice))
except FtkitError as err:
    stop_with_error(err)
if not picked.chosen.items:
    st.info(f"{picked.chosen.label}: nothing is held out for testing; {NOTHING_HELD_OUT}.")
    st.stop()
st.caption(picked.caption(needs_training(choice)))
test_items, source = picked.chosen.items, picked.run_label
size_col, workers_col = st.columns(2)
size = size_col.number_input(
    "Items", 1, max(len(test_items), 1), min(DEFAULT_SIZE, len(test_items)), key="evaluate_size"
)
workers = workers_col.number_input(
    "Requests in flight", 1, 32, DEFAULT_WORKERS, key="evaluate_workers", disabled=choice != CHAT
)
items = test_items[: int(size)]

api_key = None
if choice == CHAT:
    if not model:
        st.info("Enter the chat model to evaluate, e.g. gpt-4o-mini or an ft: model.")
        st.stop()
    api_key = find_api_key()
    if not api_key and not base_url:
        st.info(
            "No OpenAI API key: type one in the sidebar, or set OPENAI_API_KEY in the "
            "environment, a .env file or .streamlit/secrets.toml. The baselines run without one.",
            icon=":material/key:",
        )
        st.stop()
    cost = estimate_cost(items, model)
    if cost is None:
        st.caption(f"{model} is not in the price table: no cost estimate.")
    else:
        st.caption(
            f"Estimated cost: at most ${cost.dollars:,.4f} for {len(items)} requests "
            f"({cost.input_tokens:,} tokens in; {cost.model} {cost.rates} rates "
            f"as of {cost.as_of})."
        )


def predictor_for() -> Predictor:
    if choice in BASELINES:
        return baseline_for(choice, picked)
    config = hosting_config()
    client = make_client(
        api_key=api_key,
        base_url=base_url or None,
        max_retries=0,
        # a hosted server's own key never leaves with a user's request unless allowed
        use_environment=not config.hosted or config.allow_server_key,
    )
    return ChatPredictor(client=client, model=model)


def run_now() -> Run:
    bar = st.progress(0.0, text="Starting…")
    partial: dict[str, Any] = {**run_to_json(Run(model, source, len(items), ())), "items": []}
    st.session_state[PARTIAL] = partial

    def show(progress: Progress) -> None:
        if progress.last is not None:
            last = progress.last
            partial["items"].append({"title": last.title, "truth": last.truth,
                                     "guess": last.guess, "parsed": last.parsed,
                                     "answer": last.answer})  # fmt: skip
        failed = f", {progress.failed} failed" if progress.failed else ""
        bar.progress(
            progress.done / progress.total, text=f"{progress.done}/{progress.total} scored{failed}"
        )

    result = evaluate(
        items, predictor_for(), model=model, source=source,
        workers=1 if choice in BASELINES else int(workers), on_progress=show,
        cost=estimate_cost(items, model),
    )  # fmt: skip
    st.session_state[PARTIAL] = None
    bar.empty()
    return result


def record(result: Run) -> None:
    """Record the run in the history (never its key)."""
    baseline = is_baseline(model)
    settings = evaluate_settings(
        model=model, size=len(items), workers=1 if baseline else int(workers),
        base_url=base_url or None, **record_fields(picked, baseline=baseline, size=len(items)),
    )  # fmt: skip
    record_from_page(lambda store, user: record_evaluate(result, settings, user=user, store=store))


if st.button("Run evaluation", type="primary", key="evaluate_run"):
    try:
        result = run_now()
    except FtkitError as err:
        st.session_state[PARTIAL] = None
        stop_with_error(err)
    record(result)
    if result.stopped:
        st.warning(f"Run stopped after {len(result.rows)} of {result.requested}: {result.stopped}")
    if result.failed:
        st.warning(
            f"{result.failed} items still failed after every retry; left out of the metrics."
        )
    if result.rows:
        st.session_state[RUNS].append(run_to_json(result))

with st.expander("Reopen saved runs (JSON)"):
    for file in (
        st.file_uploader(
            "Run files", type="json", accept_multiple_files=True, key="evaluate_reopen"
        )
        or []
    ):
        try:
            reopened = run_from_json(orjson.loads(file.getvalue()), label=file.name)
        except (FtkitError, orjson.JSONDecodeError) as err:
            st.error(f"{file.name}: {err}")
            continue
        if run_to_json(reopened) not in st.session_state[RUNS]:
            st.session_state[RUNS].append(run_to_json(reopened))

runs = [run_from_json(data) for data in st.session_state[RUNS]]
if not runs:
    st.info("Run an evaluation (the baselines work offline) to see its metrics and charts.")
    st.stop()

labels = [row["run"] for row in compare_runs(runs)]
shown = st.selectbox("Show run", range(len(runs)), len(runs) - 1, format_func=labels.__getitem__,
                     key="evaluate_shown")  # fmt: skip
run = runs[shown]
m = run.metrics
cols = st.columns(6)
cols[0].metric("Average error", f"${m.average_error:,.2f}")
cols[1].metric("RMSLE", f"{m.rmsle:.2f}")
cols[2].metric("Hits", f"{m.hit_rate_pct:.1f}%")
cols[3].metric("MSE", f"{m.mse:,.0f}")
cols[4].metric("R²", "n/a" if m.r2 is None else f"{m.r2:.3f}")
cols[5].metric("Unparsed", f"{m.unparsed}")

chart_tab, running_tab, band_tab, items_tab = st.tabs(
    ["Truth vs estimate", "Running error", "By price band", "Items"]
)
chart_tab.altair_chart(course_chart(run.rows, m, name=run.model), width="stretch")
running_tab.altair_chart(running_error_chart(run.rows), width="stretch")
band_tab.altair_chart(band_chart(m), width="stretch")
items_tab.dataframe(
    pd.DataFrame([{"title": r.title, "truth": r.truth, "guess": r.guess, "error": r.error,
                   "color": r.color, "answer": r.answer} for r in run.rows]),
    hide_index=True,
)  # fmt: skip
stem = run_filename(run)
json_col, csv_col = st.columns(2)
json_col.download_button(
    "Download JSON", orjson.dumps(run_to_json(run), option=orjson.OPT_INDENT_2),
    f"{stem}.json", "application/json", key="evaluate_download_json",
)  # fmt: skip
csv_col.download_button(
    "Download CSV", run_to_csv(run), f"{stem}.csv", "text/csv", key="evaluate_download_csv"
)

if len(runs) >= 2:
    st.subheader("Compare runs")
    picked = st.multiselect(
        "Runs", range(len(runs)), default=list(range(len(runs)))[-2:],
        format_func=labels.__getitem__, key="evaluate_compare",
    )  # fmt: skip
    if len(picked) >= 2:
        chosen = [runs[i] for i in picked]
        st.dataframe(pd.DataFrame(compare_runs(chosen)), hide_index=True)
        st.altair_chart(comparison_chart(chosen))
