"""Data: choose the items (built-in sample, an upload or a local path) and see what they hold."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ftkit.charts import category_chart, price_histogram
from ftkit.errors import FtkitError
from ftkit.sniff import UPLOAD_SUFFIXES
from ftkit.sources import PICKLE_SUFFIXES, ColumnMapping
from ftkit.ui import data, state
from ftkit.ui.components import dataset_or_stop, show_error

NONE = "(none)"

st.header("Data")
st.caption(
    "Choose the items to train on. The built-in sample (product listings in the course's "
    "format) is loaded to start with; upload a table or give a local path to use your own."
)

# ---- sources ---------------------------------------------------------------------------------

upload_col, path_col = st.columns(2)
with upload_col:
    upload = st.file_uploader(
        "Upload a CSV, JSONL or Parquet file",
        type=[*UPLOAD_SUFFIXES, *(s.lstrip(".") for s in PICKLE_SUFFIXES)],
        key="data_upload",
        help="Gzipped CSV/JSONL work too (.csv.gz, .jsonl.gz). Pickles are refused: loading "
        "one can run code. Give a pickle's local path instead.",
    )
    if upload is not None and st.session_state.get("data_upload_id") != upload.file_id:
        st.session_state["data_upload_id"] = upload.file_id
        st.session_state["data_upload_error"] = None
        try:
            with st.spinner(f"Loading {upload.name}…"):
                data.load_upload(upload.name, upload.getvalue())
        except FtkitError as err:
            st.session_state["data_upload_error"] = str(err)
    if upload is not None and st.session_state.get("data_upload_error"):
        st.error(st.session_state["data_upload_error"], icon=":material/error:")

with path_col:
    if state.is_hosted():
        st.caption(":material/lock: Local paths are off on this server (hosted mode).")
    else:
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
                show_error(err)
            finally:
                slot.empty()

# ---- the dataset -----------------------------------------------------------------------------

dataset = dataset_or_stop()
loaded = dataset.loaded
st.subheader(dataset.label)
if dataset.kind != "sample":
    st.button("Use the built-in sample", key="data_use_sample", on_click=data.use_sample)

summary, bins = data.dataset_stats(dataset.key, loaded.items)
items_col, rows_col, dropped_col, price_col = st.columns(4)
items_col.metric("Items", f"{summary.count:,}")
rows_col.metric("Rows read", f"{loaded.rows:,}")
dropped_col.metric("Dropped", f"{loaded.dropped_total:,}")
price_col.metric("Median price", f"${summary.price_median:,.2f}")
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
    columns = list(dataset.columns)
    suffix = dataset.key[:12]
    with st.expander("Column mapping", icon=":material/view_column:"):
        st.caption("Which columns hold the price, title, text and category (detected).")
        with st.form(f"data_mapping_{suffix}", border=False):
            price = st.selectbox("Price", columns, index=columns.index(mapping.price))
            options = [NONE, *columns]
            title = st.selectbox("Title", options, index=options.index(mapping.title or NONE))
            text = st.multiselect(
                "Text (joined in this order)", columns, default=list(mapping.text)
            )
            category = st.selectbox(
                "Category", options, index=options.index(mapping.category or NONE)
            )
            min_chars = st.number_input(
                "Drop items with less text than (characters)", 0, value=mapping.min_chars
            )
            applied = st.form_submit_button("Apply mapping")
        if applied:
            chosen = ColumnMapping(
                price=price,
                title=None if title == NONE else title,
                text=tuple(text),
                category=None if category == NONE else category,
                min_chars=int(min_chars),
            )
            try:
                data.set_mapping(chosen)
            except FtkitError as err:
                show_error(err)
            else:
                st.rerun()
