"""The Evaluate page's items: the current dataset's held-out items, or a separate test file.

The dataset is the one on the Data page and the split the one on the Compose page. The
built-in sample gives its own test split and a course test set (test*.pkl) all of itself, as
``ftkit.evaluation.holdout`` says; the baselines are fitted on the dataset's training split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import streamlit as st

from ftkit.dataset.sampling import SplitSettings, Strategy
from ftkit.evaluation import session
from ftkit.evaluation.holdout import (
    SAMPLE_LABEL,
    EvaluationItems,
    Scope,
    held_out_items,
    is_test_set,
    training_split,
)
from ftkit.evaluation.local import LOCAL_PREFIX, is_local
from ftkit.evaluation.predictors import (
    Predictor,
    TextRegression,
    fit_text_regression,
    make_baseline,
)
from ftkit.history.recording import UPLOADED
from ftkit.items import Item
from ftkit.sources.load import SAMPLE, content_hash, load_items, load_items_from_bytes
from ftkit.sources.tables import ReadLimits
from ftkit.ui import state
from ftkit.ui.data import (
    Dataset,
    current_dataset,
    hash_bytes,
    upload_limit,
    upload_read_limits,
)
from ftkit.ui.workspace import session_workspace

__all__ = [
    "LOCAL_PREFIX",
    "NOTHING_HELD_OUT",
    "PageItems",
    "baseline_for",
    "is_local_model",
    "local_predictor",
    "page_items",
    "page_split",
    "record_fields",
]

NOTHING_HELD_OUT = (
    "lower the training or validation size on the Compose page, or upload a separate test file"
)
SAMPLE_TRAIN = SAMPLE_LABEL


class Upload(Protocol):
    """What the page's file uploader returns (Streamlit's ``UploadedFile``)."""

    name: str

    def getvalue(self) -> bytes: ...


@dataclass(frozen=True)
class PageItems:
    """What the page scores, where it came from, and where the baselines' items came from."""

    chosen: EvaluationItems
    source: str  # as a run records it: "sample", a local path, or "uploaded:<name>"
    dataset_hash: str
    train_source: str
    train_hash: str
    train_key: str  # identifies the training items, for the fitted regression's cache

    @property
    def run_label(self) -> str:
        """Return the source's name for the run's label: "sample", or the file's name."""
        return SAMPLE if self.source == SAMPLE else self.chosen.label

    def caption(self, baseline_trained: bool) -> str:
        """Return the line saying which items are scored (and what the baselines learn from)."""
        line = f"Test items: {self.chosen.describe()}."
        if baseline_trained and self.chosen.train:
            trained = self.chosen.describe_train()
            line += f" {trained[0].upper()}{trained[1:]}."
        return line


def page_split() -> SplitSettings:
    """Return the Compose page's split settings."""
    state.init_state()
    ss = st.session_state
    strategy: Strategy = ss[state.STRATEGY]
    return SplitSettings(
        int(ss[state.TRAIN_SIZE]), int(ss[state.VALIDATION_SIZE]), int(ss[state.SEED]), strategy
    )


@st.cache_resource(max_entries=1, show_spinner=False)
def _sample_test() -> list[Item]:
    return load_items(SAMPLE, split="test").items


@st.cache_resource(max_entries=1, show_spinner=False)
def _sample_train() -> list[Item]:
    return load_items(SAMPLE, split="train").items


@st.cache_data(max_entries=4, show_spinner=False)
def _uploaded(data: bytes, name: str, max_bytes: int, limits: ReadLimits) -> list[Item]:
    return load_items_from_bytes(data, name, max_bytes=max_bytes, limits=limits).items


@st.cache_resource(max_entries=4, show_spinner="Finding the held-out items…")
def _held_out(
    key: str, label: str, _split: SplitSettings, _items: Sequence[Item]
) -> EvaluationItems:
    return held_out_items(_items, label, _split)


@st.cache_resource(max_entries=4, show_spinner="Drawing the training split…")
def _train(key: str, label: str, _split: SplitSettings, _items: Sequence[Item]) -> list[Item]:
    return training_split(_items, label, _split)


def _record_source(dataset: Dataset) -> str:
    if dataset.kind == "sample":
        return SAMPLE
    return dataset.label if dataset.kind == "path" else f"{UPLOADED}{dataset.label}"


def _dataset_train(dataset: Dataset, split: SplitSettings, fit: bool) -> tuple[list[Item], str]:
    """Return the dataset's training split (the sample's for a test set) and whose it is."""
    if not fit:
        return [], dataset.label
    if is_test_set(dataset.label) and dataset.kind == "path":
        return _train(f"sample:{split}", SAMPLE_TRAIN, split, _sample_train()), SAMPLE_TRAIN
    label = SAMPLE_LABEL if dataset.kind == "sample" else dataset.label
    return _train(f"{dataset.key}:{split}", label, split, dataset.loaded.items), label


def _from_dataset(dataset: Dataset, split: SplitSettings, fit: bool) -> EvaluationItems:
    if dataset.kind == "sample" or (dataset.kind == "path" and is_test_set(dataset.label)):
        train, train_label = _dataset_train(dataset, split, fit)
        scored = _sample_test() if dataset.kind == "sample" else dataset.loaded.items
        scope: Scope = "test split" if dataset.kind == "sample" else "test set"
        label = SAMPLE_LABEL if dataset.kind == "sample" else dataset.label
        return EvaluationItems(list(scored), train, scope, label, split, train_label, len(scored))
    return _held_out(f"{dataset.key}:{split}", dataset.label, split, dataset.loaded.items)


def page_items(upload: Upload | None, *, fit_baselines: bool) -> PageItems:
    """Return what the page scores: the uploaded test file, else the dataset's held-out items.

    Raises an ``FtkitError`` the page shows in one line; ``chosen.items`` is empty when the
    split takes every item (say so with ``NOTHING_HELD_OUT``).
    """
    state.init_state()  # a page opened on its own gets the session's defaults
    dataset = current_dataset()
    if state.clamp_sizes(len(dataset.loaded.items)):  # as Compose would: the sizes fit together
        st.info(state.sizes_notice(len(dataset.loaded.items)), icon=":material/straighten:")
    split = page_split()
    # current_dataset() keeps the session's hash of the dataset (the sample's too) up to date
    source, dataset_hash = _record_source(dataset), str(st.session_state[state.DATASET_HASH])
    train_source, train_hash = source, dataset_hash
    if dataset.kind == "path" and is_test_set(dataset.label):
        train_source, train_hash = SAMPLE, content_hash(SAMPLE)
    train_key = f"{dataset.key}:{split}"
    if upload is None:
        chosen = _from_dataset(dataset, split, fit_baselines)
        return PageItems(chosen, source, dataset_hash, train_source, train_hash, train_key)
    data = upload.getvalue()
    scored = _uploaded(data, upload.name, upload_limit(), upload_read_limits())
    train, train_label = _dataset_train(dataset, split, fit_baselines)
    chosen = EvaluationItems(
        scored, train, "test set", upload.name, split, train_label, len(scored)
    )
    return PageItems(
        chosen, f"{UPLOADED}{upload.name}", hash_bytes(data), train_source, train_hash, train_key
    )


@st.cache_resource(max_entries=2, show_spinner="Fitting the regression…")
def _regression(train_key: str, _train: Sequence[Item]) -> TextRegression:
    return fit_text_regression(_train)


def baseline_for(name: str, picked: PageItems) -> Predictor:
    """Return the baseline ``name`` fitted on the page's training items (the fit is cached)."""
    if name == "baseline:regression":
        return _regression(picked.train_key, picked.chosen.train)
    return make_baseline(name, picked.chosen.train)


def record_fields(picked: PageItems, *, baseline: bool, size: int) -> dict[str, Any]:
    """Return the ``evaluate_settings`` arguments that say what was scored and trained on."""
    return {
        "source": picked.source,
        "dataset_hash": picked.dataset_hash,
        "train_source": picked.train_source if baseline else None,
        "train_hash": picked.train_hash if baseline else None,
        "split": picked.chosen.split,
        "scored": picked.chosen.scope,
        "scored_items": picked.chosen.describe(size),
    }


def is_local_model(name: str) -> bool:
    """Return True for a model trained on this computer, named ``local:DIR``."""
    return is_local(name) and len(name.strip()) > len(LOCAL_PREFIX)


def local_predictor(name: str) -> Predictor:
    """Load the ``local:DIR`` model ``name`` (in hosted mode, only from this session's workspace).

    Raises ``EvaluationError`` with one line; the run's model name is the predictor's ``name``.
    """
    workspace = session_workspace() if state.is_hosted() else None
    return session.local_predictor(name, workspace=workspace)
