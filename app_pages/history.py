"""History: your recorded runs; filter, open one, compare two, re-run one with its settings.

In hosted mode the page reads through a store scoped to this session's owner, so it lists,
opens, compares and re-runs only their runs, shows file names instead of server paths, and a
re-run reads no file on the server and writes to the owner's own folder. A re-run always asks
this session's own endpoint, with this session's key; when that differs from the endpoint the
run recorded, the page says so and asks first.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from ftkit.errors import FtkitError
from ftkit.history import KINDS, Run, get_run, list_runs
from ftkit.history.recording import RERUNNABLE, local_sources, recorded_endpoint, rerun, safe_url
from ftkit.history.store import database_name
from ftkit.history.views import (
    compare_pair,
    diff_frame,
    headline,
    metric_charts,
    metrics_frame,
    run_label,
    runs_frame,
)
from ftkit.providers import ProviderSettings
from ftkit.ui.auth import hosting_config, session_owner
from ftkit.ui.history import history_store
from ftkit.ui.markdown import code, literal
from ftkit.ui.paths import shown_path, shown_text, shown_value
from ftkit.ui.providers import (
    current_client,
    current_settings,
    missing_key,
    render_provider_sidebar,
    show_endpoint,
)
from ftkit.ui.workspace import session_workspace

st.session_state.setdefault("history_notice", None)
st.header("History")
render_provider_sidebar()

try:
    config = hosting_config()
    store = history_store(config)
except FtkitError as err:
    st.error(literal(shown_text(str(err))))
    st.stop()
scope = store.scope
if scope is None:
    st.caption(
        f"Every prepare, validate, upload, fine-tune and evaluation run, in {store.display_url}"
    )
elif scope.sees_team:
    st.caption("The runs of everyone signed in to this dashboard.")
else:
    st.caption("Your prepare, validate, upload, fine-tune and evaluation runs on this dashboard.")

if st.session_state.history_notice:
    st.success(st.session_state.history_notice)
    st.session_state.history_notice = None

kind_col, user_col, limit_col = st.columns([1, 2, 1])
kind = kind_col.selectbox("Kind", ["all", *KINDS], key="history_kind")
user = ""
if scope is None or scope.sees_team:
    user = user_col.text_input("User", key="history_user", placeholder="anyone")
limit = limit_col.number_input("At most", 1, 10_000, 200, step=50, key="history_limit")
try:
    runs = list_runs(
        None if kind == "all" else kind, user.strip() or None, limit=int(limit), store=store
    )
except FtkitError as err:
    st.error(literal(shown_text(str(err))))
    st.stop()
if not runs:
    st.info("No runs recorded yet. Prepare, validate, upload or train, and they appear here.")
    st.stop()

damaged = [run for run in runs if run.damaged]
if damaged:
    st.warning(
        literal(
            shown_text(
                f"History database {database_name(store.url)}: {len(damaged)} damaged run(s), "
                f"shown as far as they can be read (run {damaged[0].id}: {damaged[0].damaged})"
            )
        )
    )
st.dataframe(  # what a run was comes first: a phone shows it without scrolling sideways
    runs_frame(runs),
    hide_index=True,
    width="stretch",
    column_order=(
        "id",
        "kind",
        "model",
        "status",
        "when (UTC)",
        "user",
        "train/validation",
        "seed",
        "re-run of",
    ),
)
by_id = {run.id: run for run in runs}


def _label(run_id: int) -> str:
    run = by_id[run_id]
    when = run.created_at[:16].replace("T", " ")
    return f"{run_label(run)} · {run.kind} · {when} · {run.user or '—'}"


def _shown(run: Run) -> Run:
    """Return the run as this session may see it: file names only in hosted mode."""
    return replace(run, settings=shown_value(run.settings), outputs=shown_value(run.outputs))


def _show_run(run: Run) -> None:
    when = run.created_at[:16].replace("T", " ")
    st.markdown(
        f"**Run {run.id}**: {run.kind}, {run.status}, by {literal(run.user or '—')} at {when} UTC"
    )
    if line := headline(run):
        st.markdown(literal(line))
    if run.parent_run_id:
        st.caption(f"A re-run of run {run.parent_run_id}.")
    shown = _shown(run)
    settings_col, outputs_col = st.columns(2)
    settings_col.markdown("Settings")
    settings_col.json(shown.settings)
    outputs_col.markdown("Outputs")
    outputs_col.json(shown.outputs)


def _model(run: Run) -> str:
    """Return the run's model name as plain text for a markdown line (it may be anyone's)."""
    return code(run.settings.get("model") or "")


def _can_rerun(run: Run) -> bool:
    """Say in one line why this session cannot re-run ``run``, or return True."""
    if run.kind not in RERUNNABLE:
        st.caption(f"Only {', '.join(RERUNNABLE)} runs can be re-run from here.")
        return False
    found = local_sources(run) if config.hosted else []
    if found:
        st.info(
            f"Run {run.id} reads {literal(shown_path(found[0]))} from the server's disk, "
            "which this hosted dashboard does not do: load the data on the Data page and "
            "run it there.",
            icon=":material/lock:",
        )
        return False
    return True


def _has_key(run: Run, provider: ProviderSettings) -> bool:
    """Say in one line when re-running asks a model and this session has no key for it."""
    problem = missing_key(show_endpoint(provider))
    if problem:
        st.info(f"Re-running run {run.id} asks {_model(run)}: {problem}.", icon=":material/key:")
    return problem is None


def _endpoint_confirmed(run: Run, provider: ProviderSettings) -> bool:
    """Ask first when a model re-run goes to another endpoint than the one the run asked."""
    recorded, current = recorded_endpoint(run), safe_url(provider.endpoint)
    if recorded is None or recorded == current:
        return True
    st.warning(
        f"Run {run.id} asked {_model(run)} at {code(recorded)}. A "
        f"re-run asks your own endpoint, {code(current)}, with your key; never the "
        "recorded one.",
        icon=":material/swap_horiz:",
    )
    return st.checkbox(f"Re-run on {code(current)}", key=f"history_rerun_confirm_{run.id}")


def _rerun(run: Run) -> None:
    if not _can_rerun(run):
        return
    provider = current_settings()
    if recorded_endpoint(run) is not None and not _has_key(run, provider):
        return
    confirmed = _endpoint_confirmed(run, provider)
    label = "Re-run with the same settings"
    if recorded_endpoint(run) is not None:
        size = run.settings.get("size")
        count = str(size) if isinstance(size, int) and size > 0 else "all"
        label = f"Re-run: send {count} paid requests to {_model(run)}"
    clicked = st.button(label, key="history_rerun", disabled=not confirmed)
    if not (clicked and confirmed):
        return
    owner = session_owner(config)
    out_dir = session_workspace(config) if config.hosted else None  # this session's own folder
    try:
        with st.spinner(f"Re-running run {run.id}…"):
            new_id = rerun(
                get_run(run.id, store=store),
                user=owner,
                store=store,
                out_dir=out_dir,
                allow_pickle=config.allow_pickle,
                allow_paths=not config.hosted,
                client_for=lambda _recorded: current_client(provider),
            )
    except FtkitError as err:
        st.error(literal(shown_text(str(err))))
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
        first, second = compare_pair(runs)
        left = by_id[
            left_col.selectbox("Run A", ids, index=first, format_func=_label, key="history_left")
        ]
        right = by_id[
            right_col.selectbox("Run B", ids, index=second, format_func=_label, key="history_right")
        ]
        st.subheader("Settings that differ")
        changes = diff_frame(_shown(left), _shown(right))
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
            charts = metric_charts(left, right)
            for start in range(0, len(charts), 3):
                row = charts[start : start + 3]
                for col, chart in zip(st.columns(3), row, strict=False):
                    col.altair_chart(chart, width="stretch")
