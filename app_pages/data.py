"""Data: choose the items (built-in sample, an upload or a local path) and see what they hold."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ftkit.dataset.charts import category_chart, price_histogram
from ftkit.errors import FtkitError, SourceError
from ftkit.sources.columns import ColumnOverrides, describe_mapping
from ftkit.sources.load import PICKLE_SUFFIXES, ColumnMapping
from ftkit.sources.sniff import UPLOAD_SUFFIXES
from ftkit.ui import data, state
from ftkit.ui.components import dataset_or_stop, metric_row, next_step, show_error
from ftkit.ui.markdown import literal
from ftkit.ui.paths import shown_text

NONE = "(none)"
SCRUB_HELP = (
    "The course's rule for Amazon part numbers: drop words of 7+ characters that contain a "
    "digit. On for Amazon-2023 records; elsewhere it would delete specs like 12-megapixel."
)


def mapping_form(
    key: str, columns: list[str], start: ColumnMapping | ColumnOverrides
) -> ColumnMapping | None:
    """Show pickers for each role, filled from ``columns``; return the applied mapping or None."""
    options = [NONE, *columns]
    price_index = columns.index(start.price) if start.price in columns else None
    with st.form(key, border=False):
        price = st.selectbox("Price", columns, index=price_index, placeholder="Choose a column")
        title = st.selectbox("Title", options, index=options.index(start.title or NONE))
        text = st.multiselect("Text (joined in this order)", columns, default=list(start.text))
        category = st.selectbox("Category", options, index=options.index(start.category or NONE))
        min_chars = st.number_input(
            "Drop items with less text than (characters)",
            0,
            value=getattr(start, "min_chars", 0),
        )
        scrub = st.checkbox(
            "Remove part numbers", value=bool(start.scrub_part_numbers), help=SCRUB_HELP
        )
        if not st.form_submit_button("Apply mapping"):
            return None
    if price is None:
        raise SourceError("Price: choose the column that holds the price")
    return ColumnMapping(
        price=price,
        title=None if title == NONE else title,
        text=tuple(text),
        category=None if category == NONE else category,
        min_chars=int(min_chars),
        scrub_part_numbers=scrub,
    )


st.header("Data")
st.caption(
    "Choose the items to train on. The built-in sample (product listings in the course's "
    "format) is loaded to start with; upload a table"
    + ("" if state.is_hosted() else " or give a local path")
    + " to use your own."
)

# ---- sources ---------------------------------------------------------------------------------

upload_col, path_col = st.columns(2)
with upload_col:
    hosted = state.is_hosted()
    pickles = [] if hosted else [s.lstrip(".") for s in PICKLE_SUFFIXES]
    upload = st.file_uploader(
        "Upload a CSV, JSONL or Parquet file",
        type=[*UPLOAD_SUFFIXES, *pickles],
        key="data_upload",
        help="Gzipped CSV/JSONL work too (.csv.gz, .jsonl.gz). Pickles cannot be uploaded: "
        "loading one can run code." + ("" if hosted else " Give a pickle's local path instead."),
    )
    if upload is not None and st.session_state.get("data_upload_id") != upload.file_id:
        st.session_state["data_upload_id"] = upload.file_id
        st.session_state["data_upload_error"] = None
        try:
            with st.spinner(f"Loading {upload.name}…"):
                data.load_upload(upload.name, upload.getvalue())
        except FtkitError as err:
            st.session_state["data_upload_error"] = str(err)
    failed = upload is not None and st.session_state.get("data_upload_error")
    if failed and data.pending_table() is None:  # a file to map shows its problem below
        upload_error = literal(shown_text(st.session_state["data_upload_error"]))
        st.error(upload_error, icon=":material/error:")

with path_col:
    if state.is_hosted():
        st.caption(":material/lock: Local paths are off on this server (hosted mode).")
    else:
        state.bind("data_path", state.DATA_PATH)  # a form's field has no on_change: kept on Load
        with st.form("data_path_form", border=False):
            path_text = st.text_input(
                "Local path (a course pickle or a table)",
                key="data_path",
                placeholder="~/llm_engineering/week6/train.pkl",
                help="Local use only. Course pickles load through a restricted unpickler that "
                "accepts only the course's Item class.",
            )
            load_clicked = st.form_submit_button("Load", icon=":material/folder_open:")
        if load_clicked:
            st.session_state[state.DATA_PATH] = path_text
            slot = st.empty()  # a progress bar while a table file is read and hashed
            shown = [-1.0]

            def report(fraction: float) -> None:
                if fraction - shown[0] >= 0.05 or fraction >= 1.0:
                    shown[0] = fraction
                    slot.progress(fraction, text=f"Reading the file… {fraction:.0%}")

            try:
                with st.spinner("Loading items…"):
                    data.load_path(path_text, report)
            except FtkitError as err:
                if data.pending_table() is None:  # a file to map shows its problem below
                    show_error(err)
            finally:
                slot.empty()

# ---- a file whose columns need mapping ---------------------------------------------------------

pending = data.pending_table()
if pending is not None:
    with st.container(border=True):
        st.markdown(f"**Map the columns of {literal(pending.label)}**")
        problem = st.empty()  # one error line: the file's, or what the chosen mapping gave
        st.caption("Choose the columns below to use this file; the dataset below is unchanged.")
        form_key = f"data_pending_{pending.content_hash[:12]}"
        try:
            chosen = mapping_form(form_key, list(pending.columns), pending.guess)
            if chosen is not None:
                data.map_pending(chosen)
                st.session_state["data_upload_error"] = None  # the upload is in use now
                st.rerun()
            problem.error(literal(shown_text(pending.error)), icon=":material/error:")
        except FtkitError as err:
            problem.error(literal(shown_text(str(err))), icon=":material/error:")
        st.button("Cancel", key="data_pending_cancel", on_click=data.clear_pending)

# ---- the dataset -----------------------------------------------------------------------------

dataset = dataset_or_stop()
loaded = dataset.loaded
st.subheader(dataset.label)
if dataset.kind != "sample":
    st.button("Use the built-in sample", key="data_use_sample", on_click=data.use_sample)

summary, bins = data.dataset_stats(dataset.key, loaded.items)
metrics = metric_row()
metrics.metric("Items", f"{summary.count:,}")
metrics.metric("Rows read", f"{loaded.rows:,}")
metrics.metric("Dropped", f"{loaded.dropped_total:,}")
metrics.metric("Median price", f"${summary.price_median:,.2f}")
st.caption(f"Prices from ${summary.price_min:,.2f} to ${summary.price_max:,.2f}.")
if loaded.dropped:
    reasons = pd.DataFrame(sorted(loaded.dropped.items()), columns=["reason", "rows dropped"])
    st.dataframe(reasons, hide_index=True, key="data_dropped")

price_chart, category_col = st.columns(2)
price_chart.altair_chart(price_histogram(bins), width="stretch")
category_col.altair_chart(category_chart(summary.categories), width="stretch")

# ---- column mapping (tables only) -------------------------------------------------------------

mapping = dataset.mapping
if mapping is not None:
    st.caption(f"Columns: {literal(describe_mapping(mapping))}.")
    with st.expander("Column mapping", icon=":material/view_column:"):
        st.caption("Which columns hold the price, title, text and category (detected).")
        try:
            chosen = mapping_form(
                f"data_mapping_{dataset.key[:12]}", list(dataset.columns), mapping
            )
            if chosen is not None:
                data.set_mapping(chosen)
                st.rerun()
        except FtkitError as err:
            show_error(err)

next_step("app_pages/compose.py", "Compose", "Write the prompts; choose how many examples to draw.")
