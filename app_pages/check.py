"""Check: the pre-flight report for the composed split, tokens, epochs and the cost estimate."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ftkit.dataset.charts import token_histogram
from ftkit.dataset.stats import histogram
from ftkit.errors import FtkitError
from ftkit.history.recording import record_validate
from ftkit.preflight.cost import MAX_EPOCHS
from ftkit.training.models import MODELS, find_model
from ftkit.ui import data, state
from ftkit.ui.components import composition_or_stop, metric_row, next_step, stop_with_error
from ftkit.ui.history import composed_settings, record_from_page, recorded_once
from ftkit.ui.paths import shown_path

st.header("Check")
st.caption(
    "The pre-flight check runs on the files Export would write: every rule, token counts "
    "with the model's tokenizer and a cost estimate for the epochs the job form will send."
)
EPOCH_CHOICES: list[int | str] = ["auto", *range(1, MAX_EPOCHS + 1)]

model_col, epochs_col = st.columns([3, 1])
model_col.selectbox("Model", list(MODELS), **state.keep("check_model", state.CHECK_MODEL))
epochs_col.selectbox(
    "Epochs",
    EPOCH_CHOICES,
    format_func=lambda n: "auto" if n == "auto" else str(n),
    help="auto: OpenAI's rule picks the epochs from the number of examples. One choice for "
    "the estimate here and the job form on Train.",
    **state.keep("check_epochs", state.EPOCHS),
)
epochs = st.session_state[state.EPOCHS]
spec = find_model(st.session_state[state.CHECK_MODEL])
if spec.shutdown:
    st.warning(
        f"OpenAI is winding down self-serve fine-tuning: fine-tuned {spec.name} models stop "
        f"serving on {spec.shutdown}, and new jobs are closed to everyone from 2027-01-06.",
        icon=":material/schedule:",
    )

composition = composition_or_stop()
t = composition.templates
try:
    report = data.run_check(
        composition.split_id,
        (t.system, t.user, t.assistant),
        spec.name,
        None if epochs == "auto" else int(epochs),
        composition.split,
    )
except FtkitError as err:
    stop_with_error(err)

# each distinct check is recorded once per session, not on every rerun of the page
settings = {
    **composed_settings(composition),
    "model": spec.name,
    "hyperparameters": {"n_epochs": epochs},
}
if recorded_once(f"{composition.fingerprint}|{spec.name}|{epochs}", "check_recorded"):
    record_from_page(lambda store, user: record_validate(report, settings, user=user, store=store))

if report.notice:
    st.info(report.notice)
errors, warnings = len(report.errors), len(report.warnings)
if report.ok:
    st.success(
        f"No errors in {report.examples:,} training and {report.validation_examples:,} "
        f"validation examples ({warnings:,} warnings): ready to upload.",
        icon=":material/check_circle:",
    )
else:
    st.error(f"{errors:,} errors: fix them before uploading.", icon=":material/error:")

cost = report.estimated_cost_usd
st.session_state[state.CHECK_ESTIMATE] = {
    "model": spec.name,
    "epochs": report.epochs,
    "billed_tokens": report.billed_tokens,
    "cost": cost,
    "approximate": report.approximate,
}
metrics = metric_row()
metrics.metric(
    "Epochs", report.epochs, help="auto: OpenAI's rule" if report.epochs_source == "auto" else None
)
approx = " (approximate)" if report.approximate else ""
metrics.metric(f"Training tokens{approx}", f"{report.tokens.total:,}")
metrics.metric(f"Billed tokens{approx}", f"{report.billed_tokens:,}", help="tokens × epochs")
metrics.metric(f"Estimated cost{approx}", "unknown" if cost is None else f"${cost:,.2f}")
priced = f"{report.epochs} epoch{'s' if report.epochs != 1 else ''}"
if report.epochs_source == "auto":
    priced += f" (auto: OpenAI's rule for {report.examples:,} examples)"
st.caption(
    f"Priced for {priced}, as the job form on Train will send unless you change it. "
    f"Prices as of {report.prices_as_of} ({shown_path(report.prices_source)}). "
    f"Tokens per example: min {report.tokens.min:,}, median {report.tokens.median:,}, "
    f"p90 {report.tokens.p90:,}, max {report.tokens.max:,}; limit {report.token_limit:,}."
    + (
        ""
        if report.inference_cost_per_1k_usd is None
        else f" Using the fine-tuned model: about ${report.inference_cost_per_1k_usd:,.2f} "
        "per 1,000 calls."
    )
)

st.altair_chart(
    token_histogram(histogram(composition.tokens, bins=30), limit=report.token_limit),
    width="stretch",
)

issues = [*report.errors, *report.warnings]
if issues:
    st.subheader("Errors and warnings")
    st.dataframe(
        pd.DataFrame(
            [(i.severity, i.file, i.line, i.code, i.message, i.fix) for i in issues],
            columns=["severity", "file", "line", "code", "problem", "fix"],
        ),
        hide_index=True,
        width="stretch",
        key="check_issues",
    )
    counts = {code: n for kind in report.issue_counts.values() for code, n in kind.items()}
    if sum(counts.values()) > len(issues):
        st.caption(f"Showing {len(issues):,} of {sum(counts.values()):,} issues.")

next_step("app_pages/export.py", "Export", "Write the two JSONL files the fine-tuning job takes.")
