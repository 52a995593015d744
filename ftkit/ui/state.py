"""Session-state keys shared by the pages, their defaults, and the hosted-mode switch.

Settings live under the plain keys below (one browser session each). Widgets use their own
``<page>_<name>`` keys and are bound to a setting with ``bind``/``persist``, because Streamlit
forgets a widget's value when its page is not shown.

``EPOCHS`` is the one epochs choice: Check prices it and the job form on Train starts
from it (an int, or "auto" for OpenAI's rule); ``CHECK_MODEL`` is the model chosen on Check,
which the job form starts from too. ``clamp_sizes`` fits the two split sizes to the
loaded dataset together and leaves a notice saying what it changed (``sizes_notice``).

Other pages rely on these keys: after Export writes files, ``EXPORTED_FILES`` holds
``{"training": path, "validation": path or None}`` (strings; None before a write or after a
failed one), and ``EXPORT_TRAIN_PATH``/``EXPORT_VALIDATION_PATH`` hold the same two paths.

``keep(widget_key, setting)`` is the one way a page keeps a widget's value across pages: it
binds the widget to its setting and returns the ``key``/``on_change``/``args`` to draw it with.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ftkit import hosting
from ftkit.dataset.messages import (
    DEFAULT_ASSISTANT_TEMPLATE,
    DEFAULT_SYSTEM_PROMPT,
    DEFAULT_USER_TEMPLATE,
)
from ftkit.dataset.sampling import fit_sizes
from ftkit.errors import FtkitError
from ftkit.preflight.cost import DEFAULT_EPOCHS
from ftkit.training.models import DEFAULT_MODEL

__all__ = [
    "ASSISTANT_TEMPLATE",
    "CHECK_ESTIMATE",
    "CHECK_MODEL",
    "DATASET_HASH",
    "DATASET_KIND",
    "DATASET_MAPPING",
    "DATASET_SOURCE",
    "DATA_PATH",
    "DEFAULTS",
    "EPOCHS",
    "EXPORTED_FILES",
    "EXPORT_DIR",
    "EXPORT_FINGERPRINT",
    "EXPORT_TRAIN_PATH",
    "EXPORT_VALIDATION_PATH",
    "HOSTED_ENV",
    "LAST_GOOD_TEMPLATES",
    "LECTURE_DEFAULTS",
    "MESSAGES_BANDS",
    "MESSAGES_EXAMPLE",
    "MESSAGES_SEARCH",
    "MESSAGES_SPLITS",
    "MODEL",
    "SEED",
    "SIZES_NOTICE",
    "STRATEGY",
    "SYSTEM_PROMPT",
    "TRAIN_SIZE",
    "USER_TEMPLATE",
    "VALIDATION_SIZE",
    "bind",
    "clamp_sizes",
    "fit_sizes",
    "init_state",
    "is_hosted",
    "keep",
    "persist",
    "persist_size",
    "reset_to_lecture",
    "set_exported",
    "sizes_notice",
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
CHECK_MODEL = MODEL  # the model chosen on Check; the job form starts from it
EPOCHS = "epochs"  # int, or "auto" for OpenAI's rule
SIZES_NOTICE = "sizes_notice"  # (items available, what was changed) or None

# What Export last wrote (strings), and the settings it was written with.
EXPORT_DIR = "export_dir"
EXPORT_TRAIN_PATH = "export_train_path"
EXPORT_VALIDATION_PATH = "export_validation_path"
EXPORT_FINGERPRINT = "export_fingerprint"
EXPORTED_FILES = "exported_files"  # {"training": str, "validation": str | None} or None
# The Check page's last estimate, shown beside a provider's own on Train:
# {"model": str, "epochs": int, "billed_tokens": int, "cost": float | None, "approximate": bool}
CHECK_ESTIMATE = "check_estimate"

# What a page's widgets showed last, kept while the user is on other pages.
DATA_PATH = "data_path_text"  # the local path typed on Data
MESSAGES_SEARCH = "messages_search_text"
MESSAGES_SPLITS = "messages_splits"
MESSAGES_BANDS = "messages_bands"
MESSAGES_EXAMPLE = "messages_example"  # the table row (index) shown in full, or None
LAST_GOOD_TEMPLATES = "last_good_templates"  # (system, user, assistant) Compose last rendered

HOSTED_ENV = hosting.HOSTED_ENV

LECTURE_DEFAULTS: dict[str, Any] = {
    TRAIN_SIZE: 500,
    VALIDATION_SIZE: 50,
    SEED: 42,
    STRATEGY: "first",
    SYSTEM_PROMPT: DEFAULT_SYSTEM_PROMPT,
    USER_TEMPLATE: DEFAULT_USER_TEMPLATE,
    ASSISTANT_TEMPLATE: DEFAULT_ASSISTANT_TEMPLATE,
    EPOCHS: DEFAULT_EPOCHS,
}

DEFAULTS: dict[str, Any] = {
    DATASET_HASH: None,
    DATASET_KIND: "sample",
    DATASET_SOURCE: "sample",
    DATASET_MAPPING: None,
    **LECTURE_DEFAULTS,
    MODEL: DEFAULT_MODEL,
    SIZES_NOTICE: None,
    EXPORT_DIR: "./out",
    EXPORT_TRAIN_PATH: None,
    EXPORT_VALIDATION_PATH: None,
    EXPORT_FINGERPRINT: None,
    EXPORTED_FILES: None,
    DATA_PATH: "",
    MESSAGES_SEARCH: "",
    MESSAGES_SPLITS: [],
    MESSAGES_BANDS: [],
    MESSAGES_EXAMPLE: None,
    LAST_GOOD_TEMPLATES: None,
}


def init_state() -> None:
    """Give every setting its default in this session (values already set are kept)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, list(value) if isinstance(value, list) else value)


def bind(widget_key: str, setting: str) -> None:
    """Before drawing a widget, give it the setting's value if Streamlit dropped its state."""
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state[setting]


def persist(widget_key: str, setting: str) -> None:
    """Widget callback: copy the widget's new value into the setting."""
    st.session_state[setting] = st.session_state[widget_key]


def keep(widget_key: str, setting: str) -> dict[str, Any]:
    """Bind a widget to a setting; return its ``key``, ``on_change`` and ``args`` keywords.

    ``st.text_input("Search", **state.keep("messages_search", state.MESSAGES_SEARCH))`` shows
    the setting's value, and every change is kept while the user is on other pages.
    """
    bind(widget_key, setting)
    return {"key": widget_key, "on_change": persist, "args": (widget_key, setting)}


def set_exported(training: str | None, validation: str | None) -> None:
    """Record what Export wrote (both None after a failed write) for the Upload page."""
    ss = st.session_state
    files = None if training is None else {"training": training, "validation": validation}
    ss[EXPORTED_FILES] = files
    ss[EXPORT_TRAIN_PATH], ss[EXPORT_VALIDATION_PATH] = training, validation


def persist_size(widget_key: str, setting: str, available: int, other: tuple[str, str]) -> None:
    """Widget callback for a split size: keep the new value and fit the ``other`` size to it.

    ``other`` is the (widget key, setting) of the other size; it is lowered, with a notice,
    when both no longer fit in the ``available`` items.
    """
    persist(widget_key, setting)
    ss = st.session_state
    ss[SIZES_NOTICE] = None
    other_widget, other_setting = other
    before = int(ss[other_setting])
    room = available - int(ss[setting])
    if before <= room:
        return
    lowest = 1 if other_setting == TRAIN_SIZE else 0
    ss[other_setting] = ss[other_widget] = max(lowest, room)
    name = "train" if other_setting == TRAIN_SIZE else "validation"
    text = f"Lowered {name} from {before:,} to {ss[other_setting]:,} so that both fit in the "
    ss[SIZES_NOTICE] = (available, text + f"{available:,} items.")


def clamp_sizes(available: int, widget_keys: tuple[str, ...] = ()) -> bool:
    """Fit the session's split sizes to a dataset of ``available`` items; note what changed.

    ``widget_keys`` are the size widgets to drop so that they show the new values. Return
    True if the sizes changed (``sizes_notice`` then says how).
    """
    ss = st.session_state
    train, validation = int(ss[TRAIN_SIZE]), int(ss[VALIDATION_SIZE])
    fitted = fit_sizes(train, validation, available)
    if fitted == (train, validation):
        return False
    ss[TRAIN_SIZE], ss[VALIDATION_SIZE] = fitted
    for key in widget_keys:
        ss.pop(key, None)
    ss[SIZES_NOTICE] = (
        available,
        f"The dataset holds {available:,} items, fewer than {train:,} train + {validation:,} "
        f"validation: using {fitted[0]:,} train + {fitted[1]:,} validation.",
    )
    return True


def sizes_notice(available: int) -> str | None:
    """Return what fitting the sizes last changed, if it was for a dataset of ``available``."""
    notice = st.session_state.get(SIZES_NOTICE)
    return notice[1] if notice and notice[0] == available else None


def reset_to_lecture(widget_keys: dict[str, str]) -> None:
    """Button callback: restore the lecture's settings and the widgets bound to them.

    The page then fits the sizes to its dataset with ``clamp_sizes``, before drawing them.
    """
    for setting, value in LECTURE_DEFAULTS.items():
        st.session_state[setting] = value
    st.session_state[SIZES_NOTICE] = None
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


# Evaluate page: its settings, kept while the user visits other pages (``bind``/``persist``).
EVALUATE_SIZE = "evaluate_size_setting"  # items to score; None: the page's default
EVALUATE_WORKERS = "evaluate_workers_setting"  # requests in flight for a chat model
EVALUATE_LOG_SCALE = "evaluate_log_scale_setting"  # truth-vs-estimate chart on log axes
EVALUATE_COMPARE = "evaluate_compare_setting"  # indexes of the runs compared; None: the last two
DEFAULTS.update(
    {EVALUATE_SIZE: None, EVALUATE_WORKERS: None, EVALUATE_LOG_SCALE: False, EVALUATE_COMPARE: None}
)
__all__ += ["EVALUATE_COMPARE", "EVALUATE_LOG_SCALE", "EVALUATE_SIZE", "EVALUATE_WORKERS"]


# ---- Train page ----------------------------------------------------------------------------
# "Where to train", and the Train page's job form and local form. Each form widget ``<key>``
# keeps its value under ``kept(<key>)`` (``bind`` before drawing it, ``persist`` after), so a
# visit to another page loses nothing. The job form's model and epochs are the session's
# ``CHECK_MODEL`` and ``EPOCHS`` (Check's choices); its file ids start from what was just uploaded.
TRAIN_WHERE = "train_where"  # "provider" (OpenAI, Azure or compatible) or "local"
TRAIN_KEPT: dict[str, Any] = {
    "train_job_training_file": "",
    "train_job_validation_file": "",
    "train_job_batch": "auto",
    "train_job_lr": "auto",
    "train_job_seed": 42,
    "train_job_suffix": "pricer",
    "train_job_wandb_project": "",
    "train_job_wandb_entity": "",
    "train_job_wandb_tags": "",
    "train_local_base_model": "",
    "train_local_epochs": 1,
    "train_local_max_steps": 0,  # 0: no limit
    "train_local_lr": 2e-4,
    "train_local_batch": 8,
    "train_local_lora_r": 16,
    "train_local_lora_alpha": 32,
    "train_local_qlora": False,
    "train_local_merge": False,
    "train_local_out": "",  # blank: a new folder under the workspace's .ftkit/local-runs
}


def kept(widget_key: str) -> str:
    """Return the setting that keeps a Train-page widget's value between pages."""
    return f"kept_{widget_key}"


DEFAULTS[TRAIN_WHERE] = "provider"
DEFAULTS.update({kept(key): value for key, value in TRAIN_KEPT.items()})
__all__ += ["TRAIN_KEPT", "TRAIN_WHERE", "kept"]
