"""Upload & Train: upload the JSONL files, create the fine-tuning job, watch it finish."""

from __future__ import annotations

from pathlib import Path

import openai
import pandas as pd
import streamlit as st

from ftkit.errors import FtkitError
from ftkit.preflight.cost import DEFAULT_EPOCHS
from ftkit.providers import redact
from ftkit.training.charts import metrics_chart
from ftkit.training.files import list_files
from ftkit.training.jobs import (
    DEFAULT_SEED,
    DEFAULT_SUFFIX,
    MAX_SUFFIX,
    Wandb,
    cancel_job,
    is_terminal,
    list_jobs,
    pause_job,
    resume_job,
)
from ftkit.training.launch import parse_auto, record_finished, start_job, upload_recorded
from ftkit.training.models import DEFAULT_MODEL, MODELS
from ftkit.training.monitor import checkpoint_rows, event_rows, format_time, view_job
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.shutdown import list_models, table_models
from ftkit.training.trainer import TrainRequest
from ftkit.ui import state
from ftkit.ui.auth import hosting_config
from ftkit.ui.components import show_error, stop_with_error
from ftkit.ui.history import record_from_page, recorded_once
from ftkit.ui.markdown import code, literal
from ftkit.ui.providers import (
    current_client,
    current_settings,
    endpoint_refusal,
    missing_key,
    render_provider_sidebar,
    show_endpoint,
)
from ftkit.ui.workspace import session_workspace, upload_into_workspace
from ftkit.workspace import list_jsonl, relative_name, resolve_in, scrub_paths

POLL_SECONDS = 10
MAX_POLLS = 2160  # six hours of refreshes, then the monitor stops and offers a button

for key, value in {
    "upload_files": {},  # "training"/"validation" -> file object (plain dict)
    "upload_job_id": None,
    "upload_polls": 0,
    "finetuned_model": None,  # handed to the evaluation page
}.items():
    st.session_state.setdefault(key, value)

render_provider_sidebar()
settings = current_settings()
problem = missing_key(settings)
refused = endpoint_refusal(settings)
no_key = problem is not None or refused is not None

st.title("Upload & Train")
show_endpoint(settings)
if refused is not None:
    st.error(literal(refused), icon=":material/block:")
elif problem is not None:
    st.info(
        f"No API key: {literal(problem)}. Uploading and training are disabled until one is set."
    )


# ---- upload ------------------------------------------------------------------------------------
st.subheader("1. Upload the files")
hosted = state.is_hosted()
NO_FILE = ""


def _add_jsonl() -> None:
    """Offer a JSONL upload from the person's computer and save it into their workspace."""
    limit_mb = max(1, hosting_config().max_upload_bytes // 2**20)
    added = st.file_uploader(
        "Add a JSONL file from your computer",
        type=["jsonl"],
        key="upload_jsonl",
        max_upload_size=limit_mb,
    )
    if added is None:
        return
    try:
        name = upload_into_workspace(added.file_id, added.name, added.getvalue())
    except FtkitError as err:
        show_error(err)
    else:
        st.caption(f"Saved {name} in your workspace: choose it below.")


def _hosted_choices(workspace: Path) -> tuple[str, str]:
    """Draw the hosted chooser (this session's files, or a JSONL upload); return the choices."""
    try:
        st.caption(
            "Choose files this session wrote on Export, or add a JSONL file. Only the "
            "files in your own workspace can be uploaded."
        )
        _add_jsonl()
    except FtkitError as err:
        stop_with_error(err)
    names = list_jsonl(workspace)
    if not names:
        st.info("Your workspace has no JSONL files yet: write them on Export, or add one above.")
    ss = st.session_state
    train_default = relative_name(workspace, ss.get("export_train_path"))
    val_default = relative_name(workspace, ss.get("export_validation_path"))
    train_index = names.index(train_default) if train_default in names else None
    train = st.selectbox("Training file", names, index=train_index, key="upload_train_file")
    options = [NO_FILE, *names]
    val = st.selectbox(
        "Validation file (optional)",
        options,
        key="upload_validation_file",
        index=options.index(val_default) if val_default in names else 0,
        format_func=lambda name: name or "(none)",
    )
    return train or NO_FILE, val or NO_FILE


workspace = Path()
if hosted:
    try:
        workspace = session_workspace()
    except FtkitError as err:
        stop_with_error(err)
    train_path, val_path = _hosted_choices(workspace)
else:
    exported_train = st.session_state.get("export_train_path") or ""
    exported_val = st.session_state.get("export_validation_path") or ""
    train_path = st.text_input("Training file", key="upload_train_path", value=exported_train)
    val_path = st.text_input(
        "Validation file (optional)", key="upload_validation_path", value=exported_val
    )
col_fresh, col_force = st.columns(2)
fresh = col_fresh.checkbox("Upload again even if uploaded before", key="upload_fresh")
force = col_force.checkbox("Upload even if the pre-flight check finds errors", key="upload_force")


def _source(entry: str) -> Path:
    """Return the file to send: in hosted mode only a real file inside this session's workspace."""
    return resolve_in(workspace, entry) if hosted else Path(entry)


def _shown(err: FtkitError) -> str:
    """Return the error's line, keys masked; in hosted mode without the workspace's path."""
    text = redact(str(err), settings.secrets())
    return scrub_paths(text, workspace) if hosted else text


def _upload_client() -> openai.OpenAI | None:
    """Return a client for the upload, or show why there is none (the endpoint, checked again)."""
    try:
        return current_client(settings)
    except FtkitError as err:
        st.error(literal(_shown(err)), icon=":material/error:")
        return None


clicked = st.button(
    "Upload", key="upload_upload", type="primary", disabled=no_key or not train_path
)
if clicked and (client := _upload_client()) is not None:
    for kind, entry in (("training", train_path), ("validation", val_path)):
        if not entry:
            continue
        name = Path(entry).name
        bar = st.progress(0.0, text=f"Uploading {name}")
        try:
            result = upload_recorded(
                client,
                _source(entry),
                endpoint=settings.endpoint,
                record=record_from_page,
                fresh=fresh,
                override=force,
                override_hint='tick "Upload even if the pre-flight check finds errors"',
                on_progress=lambda sent, total, b=bar: b.progress(sent / max(total, 1)),
            )
        except FtkitError as err:
            bar.empty()
            st.error(literal(_shown(err)), icon=":material/error:")
            break
        bar.progress(1.0, text=f"{name}: {'reused' if result.reused else 'uploaded'}")
        st.session_state["upload_files"][kind] = dict(result.file)
for kind, info in st.session_state["upload_files"].items():
    st.write(f"**{kind}**")
    st.json({k: info[k] for k in ("id", "bytes", "filename", "purpose", "status")})

# ---- train -------------------------------------------------------------------------------------
st.subheader("2. Create the fine-tuning job")
uploaded = st.session_state["upload_files"]
with st.form("upload_job_form"):
    train_id = st.text_input("Training file id", value=uploaded.get("training", {}).get("id", ""))
    val_id = st.text_input("Validation file id", value=uploaded.get("validation", {}).get("id", ""))
    names = list(MODELS)
    model = st.selectbox("Model (Azure: deployment name)", names, index=names.index(DEFAULT_MODEL))
    c1, c2, c3 = st.columns(3)
    epochs = c1.text_input(
        "Epochs (1-50 or auto)",
        value=str(st.session_state.get(state.EPOCHS, DEFAULT_EPOCHS)),
        help="Starts from the Check page's choice, which its cost estimate priced.",
    )
    batch = c2.text_input("Batch size (or auto)", value="auto")
    lr = c3.text_input("Learning rate multiplier (or auto)", value="auto")
    c4, c5 = st.columns(2)
    seed = c4.number_input("Seed", value=DEFAULT_SEED, step=1)
    suffix = c5.text_input("Suffix", value=DEFAULT_SUFFIX, max_chars=MAX_SUFFIX)
    w1, w2, w3 = st.columns(3)
    wandb_project = w1.text_input("W&B project (optional)")
    wandb_entity = w2.text_input("W&B entity")
    wandb_tags = w3.text_input("W&B tags, comma-separated")
    submitted = st.form_submit_button("Create job", type="primary", disabled=no_key)


if submitted:
    try:
        tags = tuple(t.strip() for t in wandb_tags.split(",") if t.strip())
        request = TrainRequest(
            training_file=train_id.strip(),
            validation_file=val_id.strip() or None,
            base_model=model,
            epochs=parse_auto(epochs, int),
            batch_size=parse_auto(batch, int),
            learning_rate=parse_auto(lr, float),
            seed=int(seed),
            suffix=suffix or None,
        )
        wandb = Wandb(wandb_project, wandb_entity or None, tags) if wandb_project else None
        trainer = OpenAITrainer(
            current_client(settings), settings.endpoint, backend=settings.kind, wandb=wandb
        )
        job = start_job(trainer, request, record=record_from_page).job
    except FtkitError as err:  # FineTuningClosedError among them: its line says what to do
        st.error(literal(_shown(err)), icon=":material/error:")
    else:
        st.session_state["upload_job_id"] = job["id"]
        st.session_state["upload_polls"] = 0
        st.success(literal(f"Created {job['id']} ({job['status']})"))


# ---- monitor -----------------------------------------------------------------------------------
def _show_job(job_id: str) -> bool:
    """Draw the monitor; return True while the job can still change."""
    client = current_client(settings)
    view = view_job(OpenAITrainer(client, settings.endpoint, backend=settings.kind), job_id)
    job = view.job
    m1, m2, m3 = st.columns(3)
    m1.metric("Status", job["status"])
    m2.metric("Estimated finish", format_time(job["estimated_finish"]))
    m3.metric("Trained tokens", f"{job['trained_tokens']:,}" if job["trained_tokens"] else "-")
    if job["error"]:
        param = f" (parameter: {job['error']['param']})" if job["error"]["param"] else ""
        st.error(literal(f"{job['error']['message']}{param}"), icon=":material/error:")
    if job["fine_tuned_model"]:
        st.session_state["finetuned_model"] = job["fine_tuned_model"]
        st.success(f"Fine-tuned model, ready for evaluation: {code(job['fine_tuned_model'])}")
    if is_terminal(job["status"]) and recorded_once(job_id, "upload_recorded_jobs"):
        # the job's metadata names its history run: record how it ended there
        record_finished(job, metrics=view.metrics, record=record_from_page)
    if view.metrics:
        st.altair_chart(metrics_chart(view.metrics), width="stretch")
    st.dataframe(pd.DataFrame(event_rows(view.events)), hide_index=True, width="stretch")
    if view.checkpoints:
        st.dataframe(pd.DataFrame(checkpoint_rows(view.checkpoints)), hide_index=True)
    b1, b2, b3 = st.columns(3)
    for col, label, action in (
        (b1, "Cancel", cancel_job),
        (b2, "Pause", pause_job),
        (b3, "Resume", resume_job),
    ):
        if col.button(label, key=f"upload_{label.lower()}", disabled=is_terminal(job["status"])):
            action(client, job_id)
            st.rerun()
    return not is_terminal(job["status"])


job_id = st.session_state["upload_job_id"]
if job_id and not no_key:
    st.subheader(f"3. Monitor {job_id}")
    active = st.session_state["upload_polls"] < MAX_POLLS

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def monitor() -> None:
        st.session_state["upload_polls"] += 1
        try:
            still_running = _show_job(job_id)
        except FtkitError as err:
            st.error(literal(_shown(err)), icon=":material/error:")
            return
        if not still_running:
            st.session_state["upload_polls"] = MAX_POLLS  # stop refreshing a finished job

    monitor()
    if not active and st.button("Refresh the monitor", key="upload_refresh"):
        st.session_state["upload_polls"] = 0
        st.rerun()

# ---- lists -------------------------------------------------------------------------------------
st.subheader("Past jobs, uploaded files and model shutdown dates")
if st.button("Load lists", key="upload_lists", disabled=no_key):
    try:
        client = current_client(settings)
        st.dataframe(pd.DataFrame(list_jobs(client)), hide_index=True)
        st.dataframe(pd.DataFrame(list_files(client)), hide_index=True)
        st.dataframe(pd.DataFrame(list_models(client)), hide_index=True)
    except FtkitError as err:
        st.error(literal(_shown(err)), icon=":material/error:")
else:
    st.dataframe(pd.DataFrame(table_models()), hide_index=True)
