"""Messages: the table of examples (user, assistant, tokens, price), search and one in full."""

from __future__ import annotations

import streamlit as st

from ftkit.dataset.jsonl import dumps_line
from ftkit.dataset.messages import render_messages
from ftkit.dataset.stats import BAND_ORDER
from ftkit.dataset.table import chosen_example, filter_table, highlight, labelled_items, leak_rows
from ftkit.ui import state
from ftkit.ui.components import composition_or_stop, next_step, show_messages

MAX_ROWS = 2_000  # rows sent to the browser at once; search narrows the rest
LISTED = ["example", "split", "user", "assistant", "tokens", "price", "band"]  # not the system


def remember_row(listed: list[int]) -> None:
    """Keep the clicked row (its table index) as the example shown in full."""
    rows = st.session_state["messages_table"].selection.rows
    if rows:
        ss = st.session_state
        ss[state.MESSAGES_EXAMPLE] = chosen_example(listed, rows, ss[state.MESSAGES_EXAMPLE])


st.header("Messages")
st.caption("Every example that will be written: train first, then validation.")

composition = composition_or_stop()
table = composition.table

with st.container(border=True):
    st.caption("System prompt, the same in every example")
    st.text(composition.templates.system)

search_col, split_col, band_col = st.columns([3, 2, 2])
query = search_col.text_input(
    "Search",
    placeholder="words in any message",
    **state.keep("messages_search", state.MESSAGES_SEARCH),
)
splits = split_col.multiselect(
    "Split",
    ["train", "validation"],
    placeholder="all",
    **state.keep("messages_split", state.MESSAGES_SPLITS),
)
bands = band_col.multiselect(
    "Price band", BAND_ORDER, placeholder="all", **state.keep("messages_band", state.MESSAGES_BANDS)
)
shown = filter_table(table, query=query, splits=splits, bands=bands)
listed = shown.head(MAX_ROWS)
leaks = int(leak_rows(listed).sum())
positions = list(listed.index)
remembered = st.session_state[state.MESSAGES_EXAMPLE]
selected = [positions.index(remembered)] if remembered in positions else []

st.caption(
    f"{len(shown):,} of {len(table):,} examples"
    + (f"; the first {MAX_ROWS:,} are listed" if len(shown) > MAX_ROWS else "")
    + f" · tokens by {composition.tokenizer.encoding_name}"
    + (" (approximate)" if composition.tokenizer.approximate else "")
    + (" · search hits in amber" if query.strip() else "")
    + ("" if listed.empty else " · click a row to see it in full")
)
if leaks:
    st.warning(
        f"{leaks:,} listed user messages hold the answer's price (red): the model would be "
        "shown what it has to guess.",
        icon=":material/visibility:",
    )
st.dataframe(
    highlight(listed, query),
    hide_index=True,
    width="stretch",
    key="messages_table",
    column_order=LISTED,
    on_select=lambda: remember_row(positions),
    selection_mode="single-row",
    selection_default={"selection": {"rows": selected}},
    column_config={
        "example": st.column_config.NumberColumn("#", width=40),
        "split": st.column_config.TextColumn("split", width=80),
        "user": st.column_config.TextColumn("user", width="large"),
        "assistant": st.column_config.TextColumn("assistant", width=130),
        "tokens": st.column_config.NumberColumn("tokens", format="%d", width=60),
        "price": st.column_config.NumberColumn("price", width=80),
        "band": st.column_config.TextColumn("band", width=90),
    },
)

if shown.empty:
    st.info("No example matches; clear the search or the filters.")
    st.stop()

chosen = chosen_example(positions, [], remembered)
st.subheader(f"{table.at[chosen, 'split'].capitalize()} example #{table.at[chosen, 'example']}")
messages = render_messages(labelled_items(composition.split)[chosen][1], composition.templates)
show_messages(messages)
with st.expander("As a JSONL line"):
    st.code(dumps_line({"messages": messages}, check_floats=False).decode(), language="json")
approximate = " (approximate)" if composition.tokenizer.approximate else ""
st.caption(f"{composition.tokens[chosen]:,} tokens{approximate}")

next_step("app_pages/check.py", "Check", "Run the pre-flight check and see what training costs.")
