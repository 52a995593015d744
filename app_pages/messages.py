"""Messages: the table of examples (system, user, assistant, tokens), search and one in full."""

from __future__ import annotations

import streamlit as st

from ftkit.dataset.jsonl import dumps_line
from ftkit.dataset.messages import render_messages
from ftkit.dataset.stats import BAND_ORDER
from ftkit.dataset.table import filter_table, labelled_items
from ftkit.ui.components import composition_or_stop, show_messages

MAX_ROWS = 2_000  # rows sent to the browser at once; search narrows the rest

st.header("Messages")
st.caption("Every example that will be written: train first, then validation.")

composition = composition_or_stop()
table = composition.table

search_col, split_col, band_col = st.columns([3, 2, 2])
query = search_col.text_input("Search", key="messages_search", placeholder="words in any message")
splits = split_col.multiselect(
    "Split", ["train", "validation"], key="messages_split", placeholder="all"
)
bands = band_col.multiselect("Price band", BAND_ORDER, key="messages_band", placeholder="all")
shown = filter_table(table, query=query, splits=splits, bands=bands)

st.caption(
    f"{len(shown):,} of {len(table):,} examples"
    + (f"; the first {MAX_ROWS:,} are listed" if len(shown) > MAX_ROWS else "")
    + f" · tokens by {composition.tokenizer.encoding_name}"
    + (" (approximate)" if composition.tokenizer.approximate else "")
)
st.dataframe(
    shown.head(MAX_ROWS),
    hide_index=True,
    width="stretch",
    key="messages_table",
    column_config={
        "example": st.column_config.NumberColumn("#", width="small"),
        "split": st.column_config.TextColumn("split", width="small"),
        "system": st.column_config.TextColumn("system", width="medium"),
        "user": st.column_config.TextColumn("user", width="large"),
        "assistant": st.column_config.TextColumn("assistant", width="medium"),
        "tokens": st.column_config.NumberColumn("tokens", format="%d", width="small"),
        "price": st.column_config.NumberColumn("price", format="$%.2f", width="small"),
        "band": st.column_config.TextColumn("band", width="small"),
    },
)

if shown.empty:
    st.info("No example matches; clear the search or the filters.")
    st.stop()

st.subheader("One example in full")
positions = list(shown.index[:MAX_ROWS])
labelled = labelled_items(composition.split)
chosen = st.selectbox(
    "Example",
    positions,
    key="messages_detail",
    format_func=lambda i: f"{table.at[i, 'split']} #{table.at[i, 'example']}",
)
if chosen is None or chosen not in table.index:
    chosen = positions[0]
messages = render_messages(labelled[chosen][1], composition.templates)
show_messages(messages)
with st.expander("As a JSONL line"):
    st.code(dumps_line({"messages": messages}, check_floats=False).decode(), language="json")
approximate = " (approximate)" if composition.tokenizer.approximate else ""
st.caption(f"{composition.tokens[chosen]:,} tokens{approximate}")
