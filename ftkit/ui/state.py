"""Session-state keys shared by the pages, their defaults, and the hosted-mode switch.

Settings live under the plain keys below (one browser session each). Widgets use their own
``<page>_<name>`` keys and are bound to a setting with ``bind``/``persist``, because Streamlit
forgets a widget's value when its page is not shown.

Other pages rely on these keys: after Export writes files, ``EXPORT_TRAIN_PATH`` and
``EXPORT_VALIDATION_PATH`` hold their paths as strings (the Upload page reads them).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ftkit import hosting
from ftkit.errors import FtkitError
from ftkit.messages import DEFAULT_ASSISTANT_TEMPLATE, DEFAULT_SYSTEM_PROMPT, DEFAULT_USER_TEMPLATE
from ftkit.models import DEFAULT_MODEL

__all__ = [
    "ASSISTANT_TEMPLATE",
    "DATASET_HASH",
    "DATASET_KIND",
    "DATASET_MAPPING",
    "DATASET_SOURCE",
    "DEFAULTS",
    "EXPORT_DIR",
    "EXPORT_FINGERPRINT",
    "EXPORT_TRAIN_PATH",
    "EXPORT_VALIDATION_PATH",
    "HOSTED_ENV",
    "LECTURE_DEFAULTS",
    "MODEL",
    "SEED",
    "STRATEGY",
    "SYSTEM_PROMPT",
    "TRAIN_SIZE",
    "USER_TEMPLATE",
    "VALIDATION_SIZE",
    "bind",
    "init_state",
    "is_hosted",
    "persist",
    "reset_to_lecture",
]

# The loaded dataset: its content hash (sha256 hex), kind, source label and column mapping.
DATASET_HASH = "dataset_hash"
DATASET_KIND = "dataset_kind"  # "sample" | "path" | "upload"
DATASET_SOURCE = "dataset_source"  # "sample", a local path, or an uploaded file's name
DATASET_MAPPING = "dataset_mapping"  # dict of ColumnMapping fields, or None for pickles

# What to draw and how to shape it.
TRAIN_SIZE = "train_size"
VALIDATION_SIZE = "validation_size"
SEED = "seed"
STRATEGY = "strategy"
SYSTEM_PROMPT = "system_prompt"
USER_TEMPLATE = "user_template"
ASSISTANT_TEMPLATE = "assistant_template"
MODEL = "model"

# What Export last wrote (strings), and the settings it was written with.
EXPORT_DIR = "export_dir"
EXPORT_TRAIN_PATH = "export_train_path"
EXPORT_VALIDATION_PATH = "export_validation_path"
EXPORT_FINGERPRINT = "export_fingerprint"

HOSTED_ENV = hosting.HOSTED_ENV

LECTURE_DEFAULTS: dict[str, Any] = {
    TRAIN_SIZE: 500,
    VALIDATION_SIZE: 50,
    SEED: 42,
    STRATEGY: "first",
    SYSTEM_PROMPT: DEFAULT_SYSTEM_PROMPT,
    USER_TEMPLATE: DEFAULT_USER_TEMPLATE,
    ASSISTANT_TEMPLATE: DEFAULT_ASSISTANT_TEMPLATE,
}

DEFAULTS: dict[str, Any] = {
    DATASET_HASH: None,
    DATASET_KIND: "sample",
    DATASET_SOURCE: "sample",
    DATASET_MAPPING: None,
    **LECTURE_DEFAULTS,
    MODEL: DEFAULT_MODEL,
    EXPORT_DIR: "./out",
    EXPORT_TRAIN_PATH: None,
    EXPORT_VALIDATION_PATH: None,
    EXPORT_FINGERPRINT: None,
}


def init_state() -> None:
    """Give every setting its default in this session (values already set are kept)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def bind(widget_key: str, setting: str) -> None:
    """Before drawing a widget, give it the setting's value if Streamlit dropped its state."""
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state[setting]


def persist(widget_key: str, setting: str) -> None:
    """Widget callback: copy the widget's new value into the setting."""
    st.session_state[setting] = st.session_state[widget_key]


def reset_to_lecture(widget_keys: dict[str, str]) -> None:
    """Button callback: restore the lecture's settings and the widgets bound to them."""
    for setting, value in LECTURE_DEFAULTS.items():
        st.session_state[setting] = value
    for widget_key, setting in widget_keys.items():
        st.session_state[widget_key] = st.session_state[setting]


def is_hosted() -> bool:
    """Return True in hosted mode (``[auth]`` configured, ``$FTKIT_HOSTED``, or the ``hosted``
    secret): local paths and pickles are off. A broken secrets file fails closed (hosted)."""
    from ftkit.ui.auth import hosting_config

    try:
        return hosting_config().hosted
    except FtkitError:
        return True
