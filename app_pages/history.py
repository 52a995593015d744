"""History: every recorded run; filter, open one, compare two, re-run one with its settings."""

from __future__ import annotations

from collections.abc import Callable

import openai
import streamlit as st

from ftkit.endpoints import normalize_endpoint
from ftkit.errors import FtkitError, ProviderError
from ftkit.history import KINDS, Run, list_runs
from ftkit.history.views import diff_frame, metrics_chart, metrics_frame, runs_frame
from ftkit.predictors import is_baseline
from ftkit.recording import RERUNNABLE, rerun
from ftkit.ui.auth import hosting_config, signed_in_user
from ftkit.ui.history import history_store
from ftkit.ui.providers import (
    current_client,
    current_settings,
    missing_key,
    render_provider_sidebar,
    show_endpoint,
)

st.session_state.setdefault("history_notice", None)
st.title("History")
render_provider_sidebar()

try:
    config = hosting_config()
    store = history_store()
except FtkitError as err:
    st.error(str(err))
    st.stop()
st.caption(f"Every prepare, validate, upload, fine-tune and evaluation run, in {store.display_url}")

if st.session_state.history_notice:
    st.success(st.session_state.history_notice)
    st.session_state.history_notice = None

kind_col, user_col, limit_col = st.columns([1, 2, 1])
kind = kind_col.selectbox("Kind", ["all", *KINDS], key="history_kind")
user = user_col.text_input("User", key="history_user", placeholder="anyone")
limit = limit_col.number_input("At most", 1, 10_000, 200, step=50, key="history_limit")
try:
    runs = list_runs(None if kind == "all" else kind, user.strip() or None, limit=int(limit),
                     store=store)  # fmt: skip
except FtkitError as err:
    st.error(str(err))
    st.stop()
if not runs:
    st.info("No runs recorded yet. Prepare, validate, upload or train, and they appear here.")
    st.stop()

st.dataframe(runs_frame(runs), hide_index=True, width="stretch")
by_id = {run.id: run for run in runs}


def _label(run_id: int) -> str:
    run = by_id[run_id]
    return f"#{run.id} {run.kind} · {run.created_at[:16].replace('T', ' ')} · {run.user or '—'}"


def _show_run(run: Run) -> None:
    st.markdown(f"**Run {run.id}**: {run.kind}, {run.status}, by {run.user or '—'} at "
                f"{run.created_at} UTC")  # fmt: skip
    if run.parent_run_id:
        st.caption(f"A re-run of run {run.parent_run_id}.")
    settings_col, outputs_col = st.columns(2)
    settings_col.markdown("Settings")
    settings_col.json(run.settings)
    outputs_col.markdown("Outputs")
    outputs_col.json(run.outputs)


def _client_for() -> Callable[[str | None], openai.OpenAI]:
    """Return how to reach a recorded evaluation's chat model: this session's provider only."""
    settings = current_settings()

    def client_for(recorded: str | None) -> openai.OpenAI:
        if normalize_endpoint(recorded) != normalize_endpoint(settings.endpoint):
            raise ProviderError(
                f"this run asked {recorded or 'OpenAI'}, but this session's endpoint is "
                f"{settings.endpoint}: set that endpoint under Provider and keys to re-run it"
            )
        return current_client(settings, max_retries=0)

    return client_for


def _asks_a_model_without_key(run: Run) -> bool:
    """Say in one line when re-running needs an API key this session does not have."""
    model = str(run.settings.get("model") or "")
    if run.kind != "evaluate" or is_baseline(model):
        return False
    settings = show_endpoint(current_settings())
    if (problem := missing_key(settings)) is None:
        return False
    st.info(f"Re-running run {run.id} asks {model}: {problem}.", icon=":material/key:")
    return True


def _rerun(run: Run) -> None:
    if run.kind not in RERUNNABLE:
        st.caption(f"Only {', '.join(RERUNNABLE)} runs can be re-run from here.")
        return
    if _asks_a_model_without_key(run):
        return
    label = "Re-run with the same settings"
    model = str(run.settings.get("model") or "")
    if run.kind == "evaluate" and not is_baseline(model):
        label = f"Re-run: send {run.settings.get('size') or 'all'} paid requests to {model}"
    if not st.button(label, key="history_rerun"):
        return
    user = signed_in_user(config)
    out_dir = config.output_dir_for(user) if config.hosted else None
    try:
        with st.spinner(f"Re-running run {run.id}…"):
            new_id = rerun(run, user=user, store=store, out_dir=out_dir,
                           allow_pickle=config.allow_pickle,
                           client_for=_client_for())  # fmt: skip
    except FtkitError as err:
        st.error(str(err))
        return
    st.session_state.history_notice = f"Recorded run {new_id}, a re-run of run {run.id}."
    st.session_state.history_open_next = new_id
    st.rerun()


open_tab, compare_tab = st.tabs(["Open a run", "Compare two runs"])
with open_tab:
    wanted = st.session_state.pop("history_open_next", None) or st.session_state.get("history_open")
    st.session_state.history_open = wanted if wanted in by_id else runs[0].id
    chosen = by_id[st.selectbox("Run", list(by_id), format_func=_label, key="history_open")]
    _show_run(chosen)
    _rerun(chosen)

with compare_tab:
    if len(runs) < 2:
        st.info("Record a second run to compare two.")
    else:
        left_col, right_col = st.columns(2)
        ids = list(by_id)
        left = by_id[left_col.selectbox("Run A", ids, index=1, format_func=_label,
                                        key="history_left")]  # fmt: skip
        right = by_id[right_col.selectbox("Run B", ids, index=0, format_func=_label,
                                          key="history_right")]  # fmt: skip
        st.subheader("Settings that differ")
        changes = diff_frame(left, right)
        if changes.empty:
            st.caption("The two runs have the same settings.")
        else:
            st.dataframe(changes, hide_index=True, width="stretch")
        st.subheader("Metrics")
        metrics = metrics_frame(left, right)
        if metrics.empty:
            st.caption("Neither run recorded numeric outputs.")
        else:
            st.dataframe(metrics, hide_index=True, width="stretch")
            chart = metrics_chart(left, right)
            if chart is not None:
                st.altair_chart(chart)
