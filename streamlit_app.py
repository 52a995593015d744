"""ftkit dashboard: ``streamlit run streamlit_app.py``. A router: config, state, navigation."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ftkit.ui.state import init_state, is_hosted

HERE = Path(__file__).resolve().parent

# (file, title, icon). Pages whose file is missing are left out, so pages can arrive one by one.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("app_pages/data.py", "Data", ":material/dataset:"),
    ("app_pages/compose.py", "Compose", ":material/edit_note:"),
    ("app_pages/messages.py", "Messages", ":material/table_rows:"),
    ("app_pages/check.py", "Check", ":material/fact_check:"),
    ("app_pages/export.py", "Export", ":material/download:"),
    ("app_pages/upload_train.py", "Upload & Train", ":material/rocket_launch:"),
    ("app_pages/evaluate.py", "Evaluate", ":material/insights:"),
)

st.set_page_config(page_title="ftkit", page_icon="🏷️", layout="wide")
init_state()

pages = [
    st.Page(str(HERE / file), title=title, icon=icon)
    for file, title, icon in PAGES
    if (HERE / file).is_file()
]
page = st.navigation(pages)

with st.sidebar:
    if is_hosted():
        st.caption(":material/cloud: Hosted mode: local file paths are off.")
    else:
        st.caption(
            ":material/computer: Local single-user mode: files on this computer can be loaded."
        )

page.run()
