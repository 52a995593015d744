"""Compose: the system prompt, the user and assistant templates, and the split's sizes."""

from __future__ import annotations

import streamlit as st

from ftkit.dataset.charts import band_split_chart
from ftkit.dataset.messages import FIELDS, leaked_fields, render_messages
from ftkit.dataset.sampling import STRATEGIES
from ftkit.dataset.stats import band_counts
from ftkit.ui import state
from ftkit.ui.components import composition_or_stop, dataset_or_stop, show_messages
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


editor, preview = st.columns([3, 2], gap="large")
with editor:
    st.text_area(
        "System prompt",
        key="compose_system",
        height=100,
        on_change=state.persist,
        args=("compose_system", state.SYSTEM_PROMPT),
    )
    st.text_input(
        "User message template",
        key="compose_user",
        on_change=state.persist,
        args=("compose_user", state.USER_TEMPLATE),
    )
    st.text_input(
        "Assistant message template",
        key="compose_assistant",
        on_change=state.persist,
        args=("compose_assistant", state.ASSISTANT_TEMPLATE),
    )
    with st.expander("Fields you can use in templates", icon=":material/data_object:"):
        st.markdown("\n".join(f"- `{{{name}}}`: {about}" for name, about in FIELDS.items()))
    train_col, validation_col, strategy_col, seed_col = st.columns(4)
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
        disabled=st.session_state[state.STRATEGY] == "first",
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

composition = composition_or_stop()
split = composition.split
with preview:
    train_metric, validation_metric, tokens_metric = st.columns(3)
    train_metric.metric("Train", f"{len(split.train):,}")
    validation_metric.metric("Validation", f"{len(split.validation):,}")
    train_tokens = sum(composition.tokens[: len(split.train)])
    tok = composition.tokenizer
    tokens_metric.metric(
        "Train tokens (approximate)" if tok.approximate else "Train tokens",
        f"{train_tokens:,}",
        help=tok.notice or f"Counted with {tok.encoding_name}.",
    )
    st.caption(f"From {literal(dataset.label)}: {available:,} items.")
    if split.skipped_duplicates:
        st.caption(f"Skipped {split.skipped_duplicates:,} duplicates to keep the splits apart.")
    for name in leaked_fields(composition.templates):
        st.warning(f"The user template uses {{{name}}}, which reveals the price to the model.")
    st.altair_chart(band_split_chart(band_counts(split)), width="stretch")
    st.markdown("**The first training example**")
    show_messages(render_messages(split.train[0], composition.templates))
