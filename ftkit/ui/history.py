"""Recording from the pages: the History page's store, who is signed in, what a page ran.

A page that did its work records it with ``record_from_page``; a history that cannot be
written shows one caption and never stops the page. Nothing here reads or passes a key.
In hosted mode the store is scoped to this session's owner (``session_owner``): it records
runs as theirs and reads only theirs (or, with ``history_visibility = "team"`` and sign-in,
every signed-in user's).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from ftkit.dataset.prepare import WrittenSplit
from ftkit.errors import FtkitError
from ftkit.history import HistoryStore, Realm, Scope, open_store
from ftkit.history.recording import UPLOADED
from ftkit.hosting import HostingConfig
from ftkit.sources.load import SAMPLE
from ftkit.ui import state
from ftkit.ui.auth import hosting_config, read_secrets, session_owner, signed_in_email
from ftkit.ui.data import Composition
from ftkit.ui.keys import scrub
from ftkit.ui.markdown import literal
from ftkit.ui.paths import shown_text

__all__ = [
    "composed_settings",
    "export_outputs",
    "history_scope",
    "history_store",
    "record_from_page",
    "recorded_once",
]

T = TypeVar("T")


def history_scope(config: HostingConfig) -> Scope | None:
    """Return whose runs this session sees and records: None (all) in local mode."""
    if not config.hosted:
        return None
    realm: Realm = "signed-in" if signed_in_email(config) else "session"
    return Scope(session_owner(config), realm, team=config.history_visibility == "team")


def history_store(config: HostingConfig | None = None) -> HistoryStore:
    """Return the history database (the ``FTKIT_DATABASE_URL`` secret, else the default).

    In hosted mode the handle is scoped to this session's owner (``history_scope``).
    """
    config = config or hosting_config()
    store = open_store(read_secrets().get("FTKIT_DATABASE_URL"))
    return store.scoped(history_scope(config))


def record_from_page(record: Callable[[HistoryStore, str], T]) -> T | None:
    """Call ``record(store, owner)``; on a history failure show one caption and carry on."""
    try:
        config = hosting_config()
        return record(history_store(config), session_owner(config))
    except FtkitError as err:
        shown = shown_text(scrub(str(err)))
        st.caption(f":material/history: Not recorded in the history: {literal(shown)}")
        return None


def recorded_once(marker: str, state_key: str) -> bool:
    """Return True the first time ``marker`` is seen under ``state_key`` in this session."""
    seen: list[str] = st.session_state.setdefault(state_key, [])
    if marker in seen:
        return False
    seen.append(marker)
    return True


def _source_label() -> str:
    ss = st.session_state
    kind, label = ss[state.DATASET_KIND], str(ss[state.DATASET_SOURCE])
    if kind == "sample":
        return SAMPLE
    if kind == "upload":
        return f"{UPLOADED}{label}"
    return os.path.abspath(label)


def composed_settings(composition: Composition) -> dict[str, Any]:
    """Return the settings of the session's composed split, as ``prepare_settings`` shapes them.

    The dataset hash is the one the Data page keeps in session state (no file is read again).
    """
    ss = st.session_state
    _, train, validation, seed, strategy = composition.split_id
    t = composition.templates
    return {
        "source": _source_label(),
        "dataset_hash": f"sha256:{ss[state.DATASET_HASH]}",
        "sizes": {"train": train, "validation": validation},
        "seed": seed,
        "strategy": strategy,
        "templates": {"system": t.system, "user": t.user, "assistant": t.assistant},
        "mapping": ss[state.DATASET_MAPPING] or None,
    }


def export_outputs(composition: Composition, written: WrittenSplit) -> dict[str, Any]:
    """Return the outputs of an Export, as ``prepare_outputs`` shapes them."""
    split, loaded = composition.split, composition.dataset.loaded
    validation = written.validation_path
    return {
        "train_path": os.path.abspath(written.train_path),
        "validation_path": os.path.abspath(validation) if validation else None,
        "train_count": len(split.train),
        "validation_count": len(split.validation),
        "loaded": len(loaded.items),
        "rows": loaded.rows,
        "skipped_duplicates": split.skipped_duplicates,
        "train_hash": written.train_sha256,
    }
