"""Evaluate: the course's Tester for any chat model or baseline, its charts, and comparisons."""

from __future__ import annotations

import orjson
import streamlit as st

from ftkit.errors import FtkitError
from ftkit.evaluation.charts import (
    FIT_WIDTH,
    band_chart,
    comparison_charts,
    course_chart,
    running_error_chart,
)
from ftkit.evaluation.chat import ChatPredictor
from ftkit.evaluation.display import color_lines, comparison_table, items_table, metric_values
from ftkit.evaluation.failures import FailureLog, describe_failures
from ftkit.evaluation.predictors import BASELINES, Predictor, is_baseline, needs_training
from ftkit.evaluation.run import DEFAULT_SIZE, DEFAULT_WORKERS, Progress, Run, estimate_cost
from ftkit.evaluation.saved import (
    MAX_RUN_FILE_MB,
    compare_runs,
    run_filename,
    run_from_bytes,
    run_from_json,
    run_to_csv,
    run_to_json,
)
from ftkit.evaluation.session import (
    evaluate_tracked,
    new_partial,
    record_evaluation,
    run_signature,
    settle_partial,
)
from ftkit.providers import redact
from ftkit.sources.sniff import UPLOAD_SUFFIXES
from ftkit.ui import state
from ftkit.ui.components import next_step, stop_with_error
from ftkit.ui.evaluation import (
    NOTHING_HELD_OUT,
    baseline_for,
    is_local_model,
    local_predictor,
    page_items,
    record_fields,
)
from ftkit.ui.history import record_from_page
from ftkit.ui.keys import scrub
from ftkit.ui.markdown import code, literal
from ftkit.ui.providers import (
    current_client,
    current_settings,
    endpoint_refusal,
    missing_key,
    render_provider_sidebar,
    show_endpoint,
)
from ftkit.ui.state import bind, persist

CHAT = "Chat model (OpenAI, Azure or compatible)"
RUNS, PARTIAL = "evaluate_runs", "evaluate_partial"
CHOICE, CHAT_MODEL, PREFILLED = "evaluate_choice", "evaluate_chat_model", "evaluate_prefilled"
PENDING, STOPPING, PICKED = "evaluate_pending", "evaluate_stopping", "evaluate_picked"
st.session_state.setdefault(RUNS, [])
st.session_state.setdefault(PARTIAL, None)
st.session_state.setdefault(PENDING, None)
st.session_state.setdefault(CHAT_MODEL, "")
state.init_state()


def show_newest() -> None:
    """After a run is added: show it, and compare the last two runs again."""
    st.session_state["evaluate_shown"] = len(st.session_state[RUNS]) - 1
    st.session_state[state.EVALUATE_COMPARE] = None
    st.session_state.pop("evaluate_compare", None)


st.header("Evaluate")
render_provider_sidebar()
st.caption(
    "The course's Tester: ask a model the price of each test item, score the answer "
    "(green under $40 or 20%, orange under $80 or 40%, red otherwise) and chart it. "
    "The baselines and local models (local:DIR) need no API key."
)

# A run cut short by the Stop button or another rerun: keep what finished.
if (partial := st.session_state[PARTIAL]) is not None:
    st.session_state[PARTIAL] = None
    kept, line = settle_partial(partial, by_user=st.session_state.pop(STOPPING, False))
    if kept is not None:
        st.session_state[RUNS].append(kept)
        show_newest()
    st.warning(line)
st.session_state.pop(STOPPING, None)

# The model a job on Train just produced: its name is filled in once. The chat model
# is chosen for the user only if they have not picked a predictor here yet.
finetuned = st.session_state.get("finetuned_model")
if finetuned and st.session_state.get(PREFILLED) != finetuned:
    st.session_state[PREFILLED] = finetuned
    st.session_state[CHAT_MODEL] = st.session_state["evaluate_model"] = finetuned
    if not st.session_state.get(PICKED):
        st.session_state[CHOICE] = st.session_state["evaluate_predictor"] = CHAT
st.session_state.setdefault(CHOICE, BASELINES[0])


def pick() -> None:
    """Remember the user's own choice of predictor; nothing overrides it afterwards."""
    persist("evaluate_predictor", CHOICE)
    st.session_state[PICKED] = True


bind("evaluate_predictor", CHOICE)
choice = st.selectbox("Model", [*BASELINES, CHAT], key="evaluate_predictor", on_change=pick)
model = choice
settings = current_settings()
if choice == CHAT:
    bind("evaluate_model", CHAT_MODEL)
    model = st.text_input(
        "Model name",
        key="evaluate_model",
        placeholder="ft:gpt-4o-mini-2024-07-18:org::id, or local:DIR",
        help="A chat model at the endpoint under Provider and keys (gpt-4o-mini, ft:…), or a "
        "model trained on this computer: local:DIR (DIR holds its merged/ or adapter/ folder).",
        on_change=persist,
        args=("evaluate_model", CHAT_MODEL),
    ).strip()
    if is_local_model(model):
        st.caption("Local model: scored on this computer with transformers; no API cost.")
    else:
        show_endpoint(settings)
remote = choice == CHAT and not is_local_model(model)

upload = st.file_uploader(
    "Separate test file (optional: CSV, JSONL, JSON or Parquet; default: the current "
    "dataset's held-out items)",
    key="evaluate_upload",
    type=list(UPLOAD_SUFFIXES),
)
try:
    picked = page_items(upload, fit_baselines=needs_training(choice))
except FtkitError as err:
    stop_with_error(err)
if not picked.chosen.items:
    st.info(f"{literal(picked.chosen.label)}: nothing is held out for testing; {NOTHING_HELD_OUT}.")
    st.stop()
st.caption(literal(picked.caption(needs_training(choice))))
test_items, source = picked.chosen.items, picked.run_label
size_col, workers_col = st.columns(2)
most = max(len(test_items), 1)
# The user's size is kept as they set it, and shown cut to what this dataset holds.
wanted = st.session_state[state.EVALUATE_SIZE] or DEFAULT_SIZE
if st.session_state.get("evaluate_size", most + 1) > most:
    st.session_state["evaluate_size"] = min(wanted, most)
if st.session_state[state.EVALUATE_WORKERS] is None:
    st.session_state[state.EVALUATE_WORKERS] = DEFAULT_WORKERS
bind("evaluate_workers", state.EVALUATE_WORKERS)
size = size_col.number_input(
    "Items",
    1,
    most,
    key="evaluate_size",
    on_change=persist,
    args=("evaluate_size", state.EVALUATE_SIZE),
)
workers = workers_col.number_input(
    "Requests in flight",
    1,
    32,
    key="evaluate_workers",
    disabled=not remote,
    on_change=persist,
    args=("evaluate_workers", state.EVALUATE_WORKERS),
)
items = test_items[: int(size)]
try:
    cost = None if not remote else estimate_cost(items, model)
except FtkitError as err:  # an unreadable price table: one line, no server path
    stop_with_error(err)


def cost_line() -> str:
    if cost is None:
        return f"Estimated cost: unknown ({literal(model)} is not in the price table)."
    return (
        f"Estimated cost: at most ${cost.dollars:,.4f} for {len(items)} requests "
        f"({cost.input_tokens:,} tokens in; {cost.model} {cost.rates} rates as of {cost.as_of})."
    )


if choice == CHAT and not model:
    st.info("Enter the model to evaluate, e.g. gpt-4o-mini, an ft: model, or local:DIR.")
    st.stop()
if remote:
    if (problem := missing_key(settings)) is not None:
        st.info(
            f"No API key: {literal(problem)}. The baselines run without one.", icon=":material/key:"
        )
        st.stop()
    if (refused := endpoint_refusal(settings)) is not None:
        st.error(literal(refused), icon=":material/block:")
        st.stop()
    st.caption(cost_line())


def predictor_for() -> Predictor:
    if choice in BASELINES:
        return baseline_for(choice, picked)
    if is_local_model(model):
        return local_predictor(model)
    # the chat predictor retries itself; the client is checked against the endpoint guard
    return ChatPredictor(client=current_client(settings), model=model)


def request_stop() -> None:
    st.session_state[STOPPING] = True


def run_now(predictor: Predictor) -> Run:
    stop_slot = st.empty()
    stop_slot.button(
        "Stop",
        key="evaluate_stop",
        on_click=request_stop,
        icon=":material/stop:",
        help="Stop sending requests; the items scored so far are kept.",
    )
    bar = st.progress(0.0, text="Starting…")
    partial = st.session_state[PARTIAL] = new_partial(model, source, len(items))

    def show(progress: Progress) -> None:
        failed = f", {progress.failed} failed" if progress.failed else ""
        bar.progress(
            progress.done / progress.total, text=f"{progress.done}/{progress.total} scored{failed}"
        )

    # a local model's run is named as the user sees its folder, never by its server path
    named = getattr(getattr(predictor, "predictor", predictor), "name", model)
    result = evaluate_tracked(
        items,
        predictor,
        model=named if is_local_model(model) else model,
        source=source,
        workers=int(workers),
        cost=cost,
        partial=partial,
        on_progress=show,
    )
    st.session_state[PARTIAL] = None
    bar.empty()
    stop_slot.empty()
    return result


def shown_safely(text: str) -> str:
    """Return ``text`` with this session's keys and anything key-shaped blanked."""
    return scrub(redact(text, settings.secrets()))


def run_and_show() -> None:
    st.session_state[PENDING] = None
    try:
        log = FailureLog(predictor_for())
        result = run_now(log)
    except FtkitError as err:
        st.session_state[PARTIAL] = None
        stop_with_error(FtkitError(shown_safely(str(err))))
    fields = record_fields(picked, baseline=is_baseline(model), size=len(items))
    record_evaluation(
        result,
        provider=settings,
        size=len(items),
        workers=int(workers),
        fields=fields,
        record=record_from_page,
    )
    if result.stopped:
        st.warning(
            f"Run stopped after {len(result.rows)} of {result.requested}: "
            f"{literal(shown_safely(result.stopped))}"
        )
    if result.failed:
        st.warning(
            f"{result.failed} of {result.requested} items failed after every retry and are left "
            f"out of the metrics. Why: {literal(shown_safely(describe_failures(log.reasons)))}"
        )
    if result.rows:
        st.session_state[RUNS].append(run_to_json(result))
        show_newest()


def review_chat_run() -> None:
    """Show what a chat run will send and cost; start it only on a deliberate confirm."""
    wanted = run_signature(settings, model=model, source=source, workers=int(workers), items=items)
    if st.session_state[PENDING] not in (None, wanted):
        st.session_state[PENDING] = None
        st.caption("The settings changed since the review: review the run again.")
    if st.session_state[PENDING] is None:
        if not st.button("Review run", type="primary", key="evaluate_review"):
            return
        st.session_state[PENDING] = wanted
    review = st.empty()
    with review.container(border=True):
        st.markdown(f"**This run sends {len(items)} paid requests.**")
        show_endpoint(settings)
        st.markdown(
            f"Model: {code(model)} · Items: {len(items)} from {literal(source)} · "
            f"Requests in flight: {int(workers)}"
        )
        st.markdown(cost_line())
        go_col, cancel_col = st.columns(2)
        go = go_col.button(
            f"Confirm: send {len(items)} paid requests", type="primary", key="evaluate_confirm"
        )
        if cancel_col.button("Cancel", key="evaluate_cancel"):
            st.session_state[PENDING] = None
            st.rerun()
    if go:
        review.empty()  # one confirm, one run: the button goes away as the run starts
        run_and_show()


if remote:
    review_chat_run()
else:
    st.session_state[PENDING] = None
    if st.button("Run evaluation", type="primary", key="evaluate_run"):
        run_and_show()

with st.expander("Reopen saved runs (JSON)"):
    files = st.file_uploader(
        "Run files",
        type="json",
        accept_multiple_files=True,
        key="evaluate_reopen",
        max_upload_size=MAX_RUN_FILE_MB,
    )
    for file in files or []:
        try:
            reopened = run_from_bytes(file.getvalue(), file.name)
        except FtkitError as err:
            st.error(literal(str(err)), icon=":material/error:")
            continue
        if run_to_json(reopened) not in st.session_state[RUNS]:
            st.session_state[RUNS].append(run_to_json(reopened))
            show_newest()

runs = [run_from_json(data) for data in st.session_state[RUNS]]
if not runs:
    st.info("Run an evaluation (the baselines work offline) to see its metrics and charts.")
    st.stop()

labels = [row["run"] for row in compare_runs(runs)]
if st.session_state.get("evaluate_shown") not in range(len(runs)):
    st.session_state["evaluate_shown"] = len(runs) - 1
shown = st.selectbox(
    "Show run", range(len(runs)), format_func=labels.__getitem__, key="evaluate_shown"
)
run = runs[shown]
m = run.metrics
for col, (label, value) in zip(st.columns(6), metric_values(m).items(), strict=True):
    col.metric(label, value)

chart_tab, running_tab, band_tab, items_tab = st.tabs(
    ["Truth vs estimate", "Running error", "By price band", "Items"]
)
with chart_tab:
    bind("evaluate_log_scale", state.EVALUATE_LOG_SCALE)
    log = st.toggle(
        "Log scale",
        key="evaluate_log_scale",
        help="Spread out the cheap items that a few expensive ones squeeze into a corner.",
        on_change=persist,
        args=("evaluate_log_scale", state.EVALUATE_LOG_SCALE),
    )
    plot_col, key_col = st.columns(2, vertical_alignment="center")
    scatter = course_chart(run.rows, m, name=run.model, log=log)
    # the column sets the width; the plot keeps its height, so it stays about square
    plot_col.altair_chart(scatter.properties(autosize=FIT_WIDTH), width="stretch")
    key_col.markdown("  \n".join(color_lines(m)))
running_tab.altair_chart(running_error_chart(run.rows), width="stretch")
band_tab.altair_chart(band_chart(m), width="stretch")
items_tab.dataframe(items_table(run.rows), hide_index=True, width="stretch")
stem = run_filename(run)
json_col, csv_col = st.columns(2)
json_col.download_button(
    "Download JSON",
    orjson.dumps(run_to_json(run), option=orjson.OPT_INDENT_2),
    f"{stem}.json",
    "application/json",
    key="evaluate_download_json",
)
csv_col.download_button(
    "Download CSV", run_to_csv(run), f"{stem}.csv", "text/csv", key="evaluate_download_csv"
)


if len(runs) >= 2:
    st.subheader("Compare runs")
    kept = st.session_state[state.EVALUATE_COMPARE]
    if kept is None or any(i not in range(len(runs)) for i in kept):
        st.session_state[state.EVALUATE_COMPARE] = list(range(len(runs)))[-2:]
    bind("evaluate_compare", state.EVALUATE_COMPARE)
    compared = st.multiselect(
        "Runs",
        range(len(runs)),
        format_func=labels.__getitem__,
        key="evaluate_compare",
        on_change=persist,
        args=("evaluate_compare", state.EVALUATE_COMPARE),
    )
    if len(compared) >= 2:
        chosen = [runs[i] for i in sorted(compared)]
        st.dataframe(comparison_table(chosen), hide_index=True, width="stretch")
        *panels, by_band = comparison_charts(chosen)
        for col, panel in zip(st.columns(len(panels)), panels, strict=True):
            col.altair_chart(panel, width="stretch")
        st.altair_chart(by_band, width="stretch")
    else:
        st.caption("Pick two or more runs to compare them.")

next_step(
    "app_pages/history.py",
    "History",
    "Every evaluation is recorded there: compare it with earlier runs, or re-run it.",
)
