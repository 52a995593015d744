"""Export: write the training and validation JSONL files, download them, look at the first lines."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ftkit.dataset.messages import render_examples
from ftkit.dataset.prepare import TRAIN_FILENAME, VALIDATION_FILENAME, write_split_hashed
from ftkit.dataset.preview import count_lines, head_lines, jsonl_bytes
from ftkit.errors import FtkitError
from ftkit.exports import RULES, export_support, support_table, write_export
from ftkit.history import record_run
from ftkit.ui import state
from ftkit.ui.components import composition_or_stop, next_step, stop_with_error
from ftkit.ui.history import composed_settings, export_outputs, record_from_page
from ftkit.ui.markdown import literal
from ftkit.ui.workspace import session_workspace
from ftkit.workspace import scrub_paths

HEAD = 3
HEAD_HEIGHT = 320  # px: the first lines scroll in a box instead of filling a phone screen

st.header("Export")
st.caption("Write the two files the fine-tuning API takes, or download them straight away.")

composition = composition_or_stop()
split, templates = composition.split, composition.templates
ss = st.session_state

hosted = state.is_hosted()
if hosted:  # the session's own folder (a signed-in user's is kept across their sessions)
    try:
        folder = str(session_workspace())
    except FtkitError as err:
        stop_with_error(err)
    st.caption(
        "Files are written to your own workspace on this server; Train offers them from there."
    )
    write_clicked = st.button("Write JSONL files", type="primary", icon=":material/save:")
else:
    state.bind("export_folder", state.EXPORT_DIR)
    with st.form("export_form", border=False):
        st.text_input("Output folder", key="export_folder")
        write_clicked = st.form_submit_button(
            "Write JSONL files", type="primary", icon=":material/save:"
        )
    folder = ss["export_folder"]
    if write_clicked:
        ss[state.EXPORT_DIR] = folder
where = "your workspace" if hosted else folder


def _hide(text: str) -> str:
    """Return ``text``; in hosted mode without the server's folder (file names stay)."""
    return scrub_paths(text, Path(folder)) if hosted else text


def _error(err: FtkitError) -> None:
    """Show an error as one line, with no server path in hosted mode."""
    st.error(literal(_hide(str(err))), icon=":material/error:")


def _recorded_dir() -> str:
    """Return the folder to record: absolute locally; in hosted mode the workspace as configured."""
    return folder if hosted else str(Path(folder).resolve())


def _show_written() -> None:
    """Show the files this session last wrote: line counts and their first lines."""
    written = [p for p in (ss[state.EXPORT_TRAIN_PATH], ss[state.EXPORT_VALIDATION_PATH]) if p]
    if not written:
        st.info("Nothing written yet in this session.", icon=":material/info:")
        return
    st.subheader("Written files")
    if ss[state.EXPORT_FINGERPRINT] != composition.fingerprint:
        st.warning("The data or settings changed since these files were written; write them again.")
    for path in written:
        try:
            lines, head = count_lines(path), head_lines(path, HEAD)
        except FtkitError as err:
            _error(err)
            continue
        shown = Path(path).name if hosted else path
        st.markdown(f"`{shown}`: **{lines:,} lines**; the first {min(HEAD, lines)}:")
        st.code("\n".join(head), language="json", wrap_lines=True, height=HEAD_HEIGHT)


if write_clicked:
    try:
        with st.spinner(f"Writing {len(split.train) + len(split.validation):,} examples…"):
            written = write_split_hashed(split, folder, templates)
    except FtkitError as err:
        state.set_exported(None, None)  # what was written before is no longer what is shown
        ss[state.EXPORT_FINGERPRINT] = None
        _error(err)
    else:
        train_path, validation_path = written.train_path, written.validation_path
        settings = {**composed_settings(composition), "out_dir": _recorded_dir()}
        outputs = export_outputs(composition, written)
        record_from_page(
            lambda store, user: record_run("prepare", settings, outputs, user=user, store=store)
        )
        state.set_exported(
            str(train_path), None if validation_path is None else str(validation_path)
        )
        ss[state.EXPORT_FINGERPRINT] = composition.fingerprint
        names = " and ".join(p.name for p in (train_path, validation_path) if p is not None)
        st.success(f"Wrote {names} to {where}.")

_show_written()

st.subheader("Download")
train_col, validation_col = st.columns(2)
train_col.download_button(
    f"Download {TRAIN_FILENAME} ({len(split.train):,} lines)",
    data=lambda: jsonl_bytes(split.train, templates),
    file_name=TRAIN_FILENAME,
    mime="application/jsonl",
    icon=":material/download:",
    key="export_download_train",
    on_click="ignore",
)
validation_col.download_button(
    f"Download {VALIDATION_FILENAME} ({len(split.validation):,} lines)",
    data=lambda: jsonl_bytes(split.validation, templates),
    file_name=VALIDATION_FILENAME,
    mime="application/jsonl",
    icon=":material/download:",
    key="export_download_validation",
    on_click="ignore",
    disabled=not split.validation,
)

st.subheader("Other trainers")
st.caption(
    "OpenAI stops creating fine-tuning jobs for everyone on 2027-01-06. The same split, in the "
    "formats other trainers accept, checked against each trainer's documented rules."
)
train_examples = list(render_examples(split.train, templates))
validation_examples = list(render_examples(split.validation, templates))
support = export_support(train_examples, validation_examples)
st.dataframe(
    support_table(support),
    hide_index=True,
    column_config={"documentation": st.column_config.LinkColumn("documentation")},
)
with st.form("export_other_form", border=False):
    target = st.selectbox(
        "Format",
        [row["format"] for row in support],
        format_func=lambda name: f"{name} ({RULES[name].trainer})",
        key="export_format",
    )
    other_clicked = st.form_submit_button("Write export", icon=":material/ios_share:")
if other_clicked:
    try:
        exported = write_export(target, train_examples, validation_examples, out_dir=folder)
    except FtkitError as err:
        _error(err)
    else:
        st.success(f"Wrote {', '.join(path.name for path in exported.files)} to {where}.")
        for note in exported.notes:
            st.caption(_hide(note))

next_step("app_pages/train.py", "Train", "Upload the written files and start the fine-tuning job.")
