"""The Train page's pieces: kept form values, the one job monitor, and readable job lists.

The monitor draws any backend's job through the ``Trainer`` interface, so a job on OpenAI and
a LoRA run on this computer look and behave alike: status, estimated finish, the loss and
accuracy charts, events, checkpoints, cancel (after a confirmation) and resume.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from ftkit.training.charts import accuracy_chart, loss_chart
from ftkit.training.events import CheckpointInfo, EventInfo, MetricRow
from ftkit.training.files import FileInfo
from ftkit.training.jobs import JobInfo, is_terminal
from ftkit.training.monitor import format_time, view_job
from ftkit.training.trainer import Trainer
from ftkit.ui import state
from ftkit.ui.components import metric_row
from ftkit.ui.markdown import code, literal

__all__ = [
    "METRIC_TITLES",
    "RESUMABLE",
    "Pause",
    "Shown",
    "bind_kept",
    "checkpoint_table",
    "event_table",
    "file_table",
    "job_table",
    "persist_kept",
    "short_time",
    "show_job",
    "time_left",
]

Shown = Callable[[str], str]  # text from a job as this person may see it
Pause = Callable[[str], object]  # pauses a running job, for backends that can
RESUMABLE: frozenset[str] = frozenset({"cancelled", "failed", "paused"})
METRIC_TITLES = {
    "train_loss": "training loss",
    "valid_loss": "validation loss (batch)",
    "full_valid_loss": "validation loss (full)",
    "train_mean_token_accuracy": "training accuracy",
    "valid_mean_token_accuracy": "validation accuracy (batch)",
    "full_valid_mean_token_accuracy": "validation accuracy (full)",
}
_EVENT_COLUMNS = {
    "time": st.column_config.TextColumn("time", width="small"),
    "level": st.column_config.TextColumn("level", width=60),
    "message": st.column_config.TextColumn("message", width="large"),
}
_CONFIRM = "train_confirm_cancel"  # the job id whose cancellation waits for a "yes"


def bind_kept(keys: Sequence[str]) -> None:
    """Before drawing the widgets ``keys``, give each its kept value if Streamlit dropped it."""
    for key in keys:
        state.bind(key, state.kept(key))


def persist_kept(keys: Sequence[str]) -> None:
    """After drawing the widgets ``keys``, keep their values for the next visit."""
    for key in keys:
        if key in st.session_state:
            state.persist(key, state.kept(key))


def _minutes(seconds: float) -> str:
    """Return a duration as "12 min" or "3 h 05 min"."""
    minutes = max(0, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def short_time(stamp: int | None) -> str:
    """Return a Unix time as "Dec 6, 14:05" (UTC), or "-" when there is none."""
    if not stamp:
        return "-"
    when = datetime.fromtimestamp(stamp, UTC)
    return f"{when:%b} {when.day}, {when:%H:%M}"


def time_left(stamp: int | None, now: float) -> str:
    """Return how long until ``stamp``: "in 12 min", "any moment", or "not estimated yet"."""
    if not stamp:
        return "not estimated yet"
    left = stamp - now
    return f"in {_minutes(left)}" if left >= 60 else "any moment"


def _size(count: int) -> str:
    """Return a byte count as "1.2 MB"."""
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{count} bytes"


def job_table(jobs: Sequence[JobInfo]) -> pd.DataFrame:
    """Return past jobs as a table with readable dates, newest first."""
    rows = [
        {
            "job": job["id"],
            "status": job["status"],
            "base model": job["model"],
            "created": format_time(job["created_at"]),
            "finished": format_time(job["finished_at"]),
            "trained model": job["fine_tuned_model"] or "-",
        }
        for job in jobs
    ]
    columns = ["job", "status", "base model", "created", "finished", "trained model"]
    return pd.DataFrame(rows, columns=columns)


def file_table(files: Sequence[FileInfo]) -> pd.DataFrame:
    """Return uploaded files as a table with readable dates and sizes, newest first."""
    rows = [
        {
            "file": f["id"],
            "name": f["filename"],
            "size": _size(f["bytes"]),
            "status": f["status"],
            "uploaded": format_time(f["created_at"]),
        }
        for f in files
    ]
    return pd.DataFrame(rows, columns=["file", "name", "size", "status", "uploaded"])


def _same(text: str) -> str:
    return text


def event_table(events: Sequence[EventInfo], shown: Shown = _same) -> pd.DataFrame:
    """Return a job's events as a table: time, level and message (as ``shown``), newest first."""
    rows = [
        {"time": short_time(e["created_at"]), "level": e["level"], "message": shown(e["message"])}
        for e in events
    ]
    return pd.DataFrame(rows, columns=["time", "level", "message"])


def checkpoint_table(points: Sequence[CheckpointInfo], shown: Shown = _same) -> pd.DataFrame:
    """Return a job's checkpoints as a table: step, the model to call, when, and its metrics."""
    rows: list[dict[str, Any]] = [
        {
            "step": p["step_number"],
            "checkpoint model": shown(p["fine_tuned_model_checkpoint"]),
            "saved": format_time(p["created_at"]),
            **{
                METRIC_TITLES.get(name, name): round(value, 4)
                for name, value in p["metrics"].items()
            },
        }
        for p in points
    ]
    return pd.DataFrame(rows)


def _show_status(job: JobInfo, shown: Shown) -> None:
    """Draw the job's status, its estimated finish (or finish time) and trained tokens."""
    row = metric_row()
    row.metric("Status", job["status"])
    if is_terminal(job["status"]):
        finished = job["finished_at"]
        row.metric("Finished (UTC)", short_time(finished), help=format_time(finished))
    else:
        finish = job["estimated_finish"]
        row.metric(
            "Estimated finish (UTC)",
            short_time(finish),
            time_left(finish, time.time()),
            delta_color="off",
            delta_arrow="off",
            help=format_time(finish) if finish else "The backend has not estimated it yet.",
        )
    row.metric("Trained tokens", f"{job['trained_tokens']:,}" if job["trained_tokens"] else "-")
    if job["error"]:
        param = f" (parameter: {job['error']['param']})" if job["error"]["param"] else ""
        message = shown(f"{job['error']['message']}{param}")
        st.error(literal(message), icon=":material/error:")
    if job["fine_tuned_model"]:
        st.session_state["finetuned_model"] = job["fine_tuned_model"]
        st.success(
            f"Trained model, ready to score on Evaluate: {code(shown(job['fine_tuned_model']))}",
            icon=":material/check_circle:",
        )


def _show_charts(metrics: Sequence[MetricRow]) -> None:
    """Draw the loss and the token accuracy by step, side by side."""
    charts = [c for c in (loss_chart(metrics), accuracy_chart(metrics)) if c is not None]
    if not charts:
        st.caption("The charts appear once the job reports its first training step.")
        return
    for column, chart in zip(st.columns(len(charts)), charts, strict=True):
        column.altair_chart(chart, width="stretch")


def _confirm_cancel(trainer: Trainer, job_id: str, shown: Shown) -> None:
    """Ask before cancelling: the job's work so far is kept only up to its last checkpoint."""
    st.warning(
        f"Cancel {code(shown(job_id))}? Training stops; resume continues from its last checkpoint."
    )
    yes, no = st.columns(2)
    if yes.button("Yes, cancel the job", key="train_cancel_yes", type="primary"):
        st.session_state[_CONFIRM] = None
        trainer.cancel(job_id)
        st.rerun()
    if no.button("No, keep it running", key="train_cancel_no"):
        st.session_state[_CONFIRM] = None
        st.rerun()


def _show_actions(trainer: Trainer, job: JobInfo, pause: Pause | None, shown: Shown) -> None:
    """Draw Cancel (asks first), Pause where the backend can, and Resume when it applies."""
    job_id, status = job["id"], job["status"]
    if st.session_state.get(_CONFIRM) == job_id and not is_terminal(status):
        _confirm_cancel(trainer, job_id, shown)
        return
    row = st.container(horizontal=True)
    if row.button("Cancel…", key="train_cancel", disabled=is_terminal(status)):
        st.session_state[_CONFIRM] = job_id
        st.rerun()
    if pause is not None and row.button("Pause", key="train_pause", disabled=status != "running"):
        pause(job_id)
        st.rerun()
    if row.button(
        "Resume",
        key="train_resume",
        disabled=status not in RESUMABLE,
        help="For a paused, cancelled or failed job: continues from its last checkpoint.",
    ):
        trainer.resume(job_id)
        st.rerun()


def show_job(
    trainer: Trainer,
    job_id: str,
    *,
    on_finished: Callable[[JobInfo, list[MetricRow]], None],
    pause: Pause | None = None,
    shown: Shown = _same,
) -> JobInfo:
    """Draw the monitor for one job and return it; ``on_finished`` runs once it has ended.

    ``shown`` turns text from the job (messages, names) into what this person may see.
    """
    view = view_job(trainer, job_id)
    _show_status(view.job, shown)
    if is_terminal(view.job["status"]):
        on_finished(view.job, view.metrics)
    _show_charts(view.metrics)
    st.caption("Events, newest first (times in UTC)")
    st.dataframe(
        event_table(view.events, shown),
        hide_index=True,
        width="stretch",
        height=min(400, 38 + 35 * len(view.events)),
        column_config=_EVENT_COLUMNS,
    )
    if view.checkpoints:
        st.caption("Checkpoints: each is a model you can score on Evaluate")
        table = checkpoint_table(view.checkpoints, shown)
        st.dataframe(table, hide_index=True, width="stretch")
    _show_actions(trainer, view.job, pause, shown)
    return view.job
