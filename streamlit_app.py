"""ftkit dashboard entry point: ``streamlit run streamlit_app.py``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ftkit.messages import render_messages
from ftkit.sources import load_items

st.set_page_config(page_title="ftkit", page_icon="🏷️", layout="wide")
st.title("ftkit")
st.caption("Items to chat fine-tuning data: the built-in sample's first 50 examples.")

loaded = load_items("sample")
rows = []
for item in loaded.items[:50]:
    system, user, assistant = (m["content"] for m in render_messages(item))
    rows.append({"system": system, "user": user, "assistant": assistant})
st.dataframe(pd.DataFrame(rows), use_container_width=True, hide_index=True)
