"""Compose: the system prompt, the user and assistant templates, and the split's sizes."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ftkit.dataset.charts import band_split_chart
from ftkit.dataset.messages import FIELDS, Templates, leaked_fields, render_messages
from ftkit.dataset.sampling import STRATEGIES
from ftkit.dataset.stats import band_counts
from ftkit.errors import FtkitError, TemplateError
from ftkit.ui import data, state
from ftkit.ui.components import (
    dataset_or_stop,
    metric_row,
    next_step,
    show_messages,
    stop_with_error,
)
from ftkit.ui.markdown import literal

# widget key -> setting it edits
WIDGETS = {
    "compose_system": state.SYSTEM_PROMPT,
    "compose_user": state.USER_TEMPLATE,
    "compose_assistant": state.ASSISTANT_TEMPLATE,
    "compose_train": state.TRAIN_SIZE,
    "compose_validation": state.VALIDATION_SIZE,
    "compose_seed": state.SEED,
    "compose_strategy": state.STRATEGY,
}
# how a template error starts -> the widget it is about
ERROR_FIELDS = {
    "system prompt:": "compose_system",
    "user template:": "compose_user",
    "assistant template:": "compose_assistant",
}
STRATEGY_HELP = {
    "first": "the first items, as the lecture slices them",
    "random": "a seeded random sample",
    "stratified": "seeded, keeping each price band's share",
}

st.header("Compose")
st.caption("Shape the messages and choose how many examples to draw. Changes apply at once.")

dataset = dataset_or_stop()
available = len(dataset.loaded.items)
state.clamp_sizes(available, ("compose_train", "compose_validation"))
for key, setting in WIDGETS.items():
    state.bind(key, setting)
ss = st.session_state


def field_slot(widget_key: str) -> None:
    """Draw a template widget's editor with an empty slot under it for its error."""
    setting = WIDGETS[widget_key]
    args = (widget_key, setting)
    if widget_key == "compose_assistant":
        label = "Assistant message template"
        st.text_input(label, key=widget_key, on_change=state.persist, args=args)
    else:
        label = "System prompt" if widget_key == "compose_system" else "User message template"
        height = 100 if widget_key == "compose_system" else 150
        st.text_area(label, key=widget_key, height=height, on_change=state.persist, args=args)
    slots[widget_key] = st.empty()


slots: dict[str, DeltaGenerator] = {}
editor, preview = st.columns(2, gap="large")
with editor:
    for widget_key in ("compose_system", "compose_user", "compose_assistant"):
        field_slot(widget_key)
    with st.expander("Fields you can use in templates", icon=":material/data_object:"):
        st.markdown("\n".join(f"- `{{{name}}}`: {about}" for name, about in FIELDS.items()))
    st.markdown("**The split**")
    train_col, validation_col = st.columns(2)
    train_col.number_input(
        "Train examples",
        min_value=1,
        max_value=available,
        step=50,
        key="compose_train",
        on_change=state.persist_size,
        args=(
            "compose_train",
            state.TRAIN_SIZE,
            available,
            ("compose_validation", state.VALIDATION_SIZE),
        ),
    )
    validation_col.number_input(
        "Validation examples",
        min_value=0,
        max_value=max(0, available - 1),
        step=10,
        key="compose_validation",
        on_change=state.persist_size,
        args=(
            "compose_validation",
            state.VALIDATION_SIZE,
            available,
            ("compose_train", state.TRAIN_SIZE),
        ),
    )
    strategy_col, seed_col = st.columns(2)
    strategy_col.selectbox(
        "Sampling",
        STRATEGIES,
        key="compose_strategy",
        format_func=str.capitalize,
        help="; ".join(f"{name}: {about}" for name, about in STRATEGY_HELP.items()),
        on_change=state.persist,
        args=("compose_strategy", state.STRATEGY),
    )
    seed_col.number_input(
        "Seed",
        min_value=0,
        step=1,
        key="compose_seed",
        disabled=ss[state.STRATEGY] == "first",
        help="Used by random and stratified sampling.",
        on_change=state.persist,
        args=("compose_seed", state.SEED),
    )
    if notice := state.sizes_notice(available):
        st.info(notice, icon=":material/straighten:")
    st.button(
        "Reset to the lecture's defaults",
        icon=":material/restart_alt:",
        key="compose_reset",
        on_click=state.reset_to_lecture,
        args=(WIDGETS,),
    )
    bands = st.container()  # the split by price band, once it is drawn

# A template error shows under its field; the preview keeps the last templates that worked.
try:
    composition = data.current_composition()
    t = composition.templates
    ss[state.LAST_GOOD_TEMPLATES] = (t.system, t.user, t.assistant)
    stale = False
except TemplateError as err:
    field = next((key for start, key in ERROR_FIELDS.items() if str(err).startswith(start)), None)
    if field is None or not ss[state.LAST_GOOD_TEMPLATES]:
        stop_with_error(err)
    slots[field].error(literal(str(err)), icon=":material/error:")
    try:
        composition = data.current_composition(Templates(*ss[state.LAST_GOOD_TEMPLATES]))
    except FtkitError as again:
        stop_with_error(again)
    stale = True
except FtkitError as err:
    stop_with_error(err)

split = composition.split
with bands:
    st.altair_chart(band_split_chart(band_counts(split)), width="stretch")

with preview:
    metrics = metric_row()
    metrics.metric("Train", f"{len(split.train):,}")
    metrics.metric("Validation", f"{len(split.validation):,}")
    train_tokens = sum(composition.tokens[: len(split.train)])
    tok = composition.tokenizer
    metrics.metric(
        "Train tokens (approximate)" if tok.approximate else "Train tokens",
        f"{train_tokens:,}",
        help=tok.notice or f"Counted with {tok.encoding_name}.",
    )
    st.caption(f"From {literal(dataset.label)}: {available:,} items.")
    if split.skipped_duplicates:
        st.caption(f"Skipped {split.skipped_duplicates:,} duplicates to keep the splits apart.")
    for name in leaked_fields(composition.templates):
        st.warning(f"The user template uses {{{name}}}, which reveals the price to the model.")
    st.markdown("**The first training example**")
    if stale:
        st.caption("As the last templates that worked give it: fix the one marked in red.")
    show_messages(render_messages(split.train[0], composition.templates))

next_step("app_pages/messages.py", "Messages", "See every example in a table, search it.")
