"""This session's files in hosted mode: its own folder, what is in it, and uploads into it.

Each signed-in user, or each anonymous browser session, gets ``<output_dir>/users/<slug>``
(``ftkit.hosting.output_dir_for`` of ``ftkit.ui.auth.session_owner``). Pages show the names of
the files in it, never the folder's server path.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ftkit.hosting import HostingConfig
from ftkit.ui.auth import hosting_config, session_owner
from ftkit.workspace import list_jsonl, save_upload

__all__ = ["session_files", "session_workspace", "upload_into_workspace"]

_SAVED_STATE = "workspace_saved_uploads"  # Streamlit file id -> the saved name


def session_workspace(config: HostingConfig | None = None) -> Path:
    """Return this session's own folder: per user (or per browser session) in hosted mode.

    Raises ``ConfigError`` when the hosting settings are malformed.
    """
    config = hosting_config() if config is None else config
    return config.output_dir_for(session_owner(config))


def session_files(config: HostingConfig | None = None) -> list[str]:
    """Return the JSONL files in this session's workspace, as names relative to it."""
    return list_jsonl(session_workspace(config))


def upload_into_workspace(file_id: str, name: str, data: bytes) -> str:
    """Save a file from ``st.file_uploader`` into the workspace once; return its name there.

    Raises ``OutputError`` (wrong type, empty, over the server's upload limit, not writable).
    """
    saved: dict[str, str] = st.session_state.setdefault(_SAVED_STATE, {})
    if file_id not in saved:
        config = hosting_config()
        saved[file_id] = save_upload(
            session_workspace(config), name, data, max_bytes=config.max_upload_bytes
        )
    return saved[file_id]
