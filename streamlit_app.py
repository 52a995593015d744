"""ftkit dashboard: ``streamlit run streamlit_app.py``. A router: config, state, navigation."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ftkit.errors import FtkitError
from ftkit.ui.auth import hosting_config, require_login, show_account
from ftkit.ui.state import init_state

HERE = Path(__file__).resolve().parent

# (file, title, icon). Pages whose file is missing are left out, so pages can arrive one by one.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("app_pages/data.py", "Data", ":material/dataset:"),
    ("app_pages/compose.py", "Compose", ":material/edit_note:"),
    ("app_pages/messages.py", "Messages", ":material/table_rows:"),
    ("app_pages/check.py", "Check", ":material/fact_check:"),
    ("app_pages/export.py", "Export", ":material/download:"),
    ("app_pages/train.py", "Train", ":material/rocket_launch:"),
    ("app_pages/evaluate.py", "Evaluate", ":material/insights:"),
    ("app_pages/history.py", "History", ":material/history:"),
)

st.set_page_config(  # "auto": the sidebar starts closed on phones and closes after navigating
    page_title="ftkit", page_icon="🏷️", layout="wide", initial_sidebar_state="auto"
)
try:
    config = hosting_config()
except FtkitError as err:  # a broken secrets.toml: say so, and serve nothing else
    st.error(str(err))
    st.stop()
email = require_login(config)  # with [auth] configured, nothing else renders until signed in
init_state()

pages = [
    st.Page(str(HERE / file), title=title, icon=icon)
    for file, title, icon in PAGES
    if (HERE / file).is_file()
]
page = st.navigation(pages)

show_account(email, config)

page.run()
