"""Small pieces the pages share: the one-line error, the guard that stops a page, chat views."""

from __future__ import annotations

from typing import NoReturn

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ftkit.dataset.messages import Message
from ftkit.errors import FtkitError
from ftkit.ui.data import Composition, Dataset, current_composition, current_dataset
from ftkit.ui.markdown import literal
from ftkit.ui.paths import shown_text

__all__ = [
    "composition_or_stop",
    "dataset_line",
    "dataset_or_stop",
    "metric_row",
    "next_step",
    "show_error",
    "show_messages",
    "stop_with_error",
]


def show_error(err: FtkitError) -> None:
    """Show an ftkit error as one line of plain text (no server path in hosted mode)."""
    st.error(literal(shown_text(str(err))), icon=":material/error:")


def stop_with_error(err: FtkitError) -> NoReturn:
    """Show an ftkit error and end this run of the page."""
    show_error(err)
    st.stop()


def dataset_or_stop() -> Dataset:
    """Return the session's dataset, or show why there is none and stop the page."""
    try:
        return current_dataset()
    except FtkitError as err:
        stop_with_error(err)


def composition_or_stop() -> Composition:
    """Return the session's composed split, or show what is wrong and stop the page."""
    try:
        return current_composition()
    except FtkitError as err:
        stop_with_error(err)


def dataset_line(dataset: Dataset) -> str:
    """Return e.g. "built-in sample · 1,086 items"."""
    return f"{dataset.label} · {len(dataset.loaded.items):,} items"


def show_messages(messages: list[Message]) -> None:
    """Show one example's messages as a chat, each content verbatim."""
    for message in messages:
        with st.chat_message(message["role"]):
            st.caption(message["role"])
            st.text(message["content"])


def next_step(page: str, label: str, caption: str = "") -> None:
    """End a page with a link to the next step of the journey (``page`` is "app_pages/x.py")."""
    st.divider()
    st.page_link(page, label=f"Next: {label}", icon=":material/arrow_forward:")
    if caption:
        st.caption(caption)


def metric_row() -> DeltaGenerator:
    """Return a row for metrics that wraps two by two on a narrow screen, not one per line."""
    return st.container(horizontal=True, gap="medium")
