"""Train: choose where to train and the files, start the job, watch it in the one monitor."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

import openai
import streamlit as st

from ftkit.errors import FtkitError
from ftkit.preflight.cost import MAX_EPOCHS
from ftkit.providers import redact
from ftkit.training.azure import TRAINING_TYPES, AzureTrainer
from ftkit.training.events import MetricRow
from ftkit.training.files import list_files
from ftkit.training.jobs import MAX_SUFFIX, JobInfo, Wandb, list_jobs, pause_job
from ftkit.training.launch import parse_auto, record_finished, start_job, upload_recorded
from ftkit.training.models import MODELS
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.shutdown import ModelRow, list_models, table_models
from ftkit.training.trainer import TrainRequest
from ftkit.ui import state
from ftkit.ui.auth import hosting_config
from ftkit.ui.components import next_step, show_error, stop_with_error
from ftkit.ui.history import record_from_page, recorded_once
from ftkit.ui.hosted_training import HOSTED_WHERE, hosted_section, hosted_trainer, show_serving
from ftkit.ui.local_training import LOCAL, local_section, local_trainer, past_local_runs
from ftkit.ui.markdown import literal
from ftkit.ui.providers import (
    current_client,
    current_settings,
    endpoint_refusal,
    missing_key,
    render_provider_sidebar,
    show_endpoint,
)
from ftkit.ui.training import bind_kept, file_table, job_table, persist_kept, show_job
from ftkit.ui.workspace import session_workspace, upload_into_workspace
from ftkit.workspace import list_jsonl, relative_name, resolve_in, scrub_paths

POLL_SECONDS = 10.0  # the monitor's refresh; $FTKIT_POLL_SECONDS (a positive number) for tests
with contextlib.suppress(ValueError):  # not a number: keep the default
    POLL_SECONDS = max(0.5, float(os.environ.get("FTKIT_POLL_SECONDS") or POLL_SECONDS))
MAX_POLLS = 2160  # six hours of refreshes, then the monitor stops and offers a button
PROVIDER = "provider"
WHERE = {PROVIDER: "OpenAI / Azure / compatible", **HOSTED_WHERE, LOCAL: "This computer (GPU)"}
EPOCH_CHOICES: list[int | str] = ["auto", *range(1, MAX_EPOCHS + 1)]
JOB_KEYS = tuple(key for key in state.TRAIN_KEPT if key.startswith("train_job_"))

state.init_state()  # the router does this; again here so the page also runs on its own
for key, value in {
    "upload_files": {},  # "training"/"validation" -> file object (plain dict)
    "upload_job_id": None,
    "upload_job_backend": PROVIDER,  # the backend of the job in the monitor
    "upload_polls": 0,
    "upload_job_ended": False,  # the monitored job has ended: no refreshing, no refresh button
    "finetuned_model": None,  # handed to the evaluation page
    "train_past_jobs": None,  # the provider's jobs, files and models, once loaded
}.items():
    st.session_state.setdefault(key, value)

render_provider_sidebar()
settings = current_settings()
hosted = state.is_hosted()

st.header("Train")
st.caption(
    "Train a model on the files Export wrote, at OpenAI (or Azure, or a compatible endpoint), "
    "Together AI, Fireworks AI or on this computer's GPU, and watch it train. The trained "
    "model is handed to Evaluate."
)
where = st.segmented_control(
    "Where to train",
    list(WHERE),
    format_func=WHERE.__getitem__,
    required=True,
    **state.keep("train_where_choice", state.TRAIN_WHERE),
)


# ---- files -------------------------------------------------------------------------------------
st.subheader("1. Choose the files")
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
            "files in your own workspace can be used."
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


try:
    workspace = session_workspace()
except FtkitError as err:
    stop_with_error(err)
if hosted:
    train_path, val_path = _hosted_choices(workspace)
else:
    exported_train = st.session_state.get("export_train_path") or ""
    exported_val = st.session_state.get("export_validation_path") or ""
    train_path = st.text_input("Training file", key="upload_train_path", value=exported_train)
    val_path = st.text_input(
        "Validation file (optional)", key="upload_validation_path", value=exported_val
    )


def _source(entry: str) -> Path:
    """Return the file to use: in hosted mode only a real file inside this session's workspace."""
    return resolve_in(workspace, entry) if hosted else Path(entry)


def _shown(err: FtkitError) -> str:
    """Return the error's line, keys masked; in hosted mode without the workspace's path."""
    text = redact(str(err), settings.secrets())
    return scrub_paths(text, workspace) if hosted else text


def _fail(err: FtkitError) -> None:
    """Show an error as one line."""
    st.error(literal(_shown(err)), icon=":material/error:")


# ---- at OpenAI, Azure or a compatible endpoint ------------------------------------------------
def _upload_client() -> openai.OpenAI | None:
    """Return a client for the upload, or show why there is none (the endpoint, checked again)."""
    try:
        return current_client(settings)
    except FtkitError as err:
        _fail(err)
        return None


def _upload(no_key: bool) -> None:
    """Draw the upload step: send the chosen files (or reuse their earlier upload)."""
    st.subheader("2. Upload the files")
    col_fresh, col_force = st.columns(2)
    fresh = col_fresh.checkbox("Upload again even if uploaded before", key="upload_fresh")
    force = col_force.checkbox(
        "Upload even if the pre-flight check finds errors", key="upload_force"
    )
    clicked = st.button(
        "Upload", key="upload_upload", type="primary", disabled=no_key or not train_path
    )
    if clicked and (client := _upload_client()) is not None:
        _send_files(client, fresh=fresh, force=force)
    uploaded = st.session_state["upload_files"]
    if uploaded:
        st.caption("Uploaded: the job form below starts from these file ids")
        rows = [
            {
                "file": kind,
                "id": info["id"],
                "name": info["filename"],
                "size": f"{info['bytes'] / 1024:,.0f} KB",
                "status": info["status"],
            }
            for kind, info in uploaded.items()
        ]
        st.dataframe(rows, hide_index=True, width="stretch")


def _send_files(client: openai.OpenAI, *, fresh: bool, force: bool) -> None:
    """Upload the chosen files one by one; each uploaded id fills the job form."""
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
            _fail(err)
            break
        bar.progress(1.0, text=f"{name}: {'reused' if result.reused else 'uploaded'}")
        st.session_state["upload_files"][kind] = dict(result.file)
        st.session_state.pop(f"train_job_{kind}_file", None)  # the form shows the new id
        st.session_state[state.kept(f"train_job_{kind}_file")] = result.file["id"]


def _job_form(no_key: bool) -> None:
    """Draw the job form (kept between pages) and create the job when it is sent."""
    st.subheader("3. Create the fine-tuning job")
    state.bind("train_job_model", state.CHECK_MODEL)
    state.bind("train_job_epochs", state.EPOCHS)
    for kind, info in st.session_state["upload_files"].items():  # uploaded ids fill the job
        field = state.kept(f"train_job_{kind}_file")
        st.session_state[field] = st.session_state[field] or info["id"]
    bind_kept(JOB_KEYS)
    with st.form("upload_job_form"):
        st.text_input("Training file id", key="train_job_training_file")
        st.text_input("Validation file id (optional)", key="train_job_validation_file")
        st.selectbox("Model (Azure: deployment name)", list(MODELS), key="train_job_model")
        c1, c2, c3 = st.columns(3)
        c1.selectbox(
            "Epochs",
            EPOCH_CHOICES,
            key="train_job_epochs",
            help="Starts from the Check page's choice, which its cost estimate priced.",
        )
        c2.text_input("Batch size (or auto)", key="train_job_batch")
        c3.text_input("Learning rate multiplier (or auto)", key="train_job_lr")
        c4, c5 = st.columns(2)
        c4.number_input("Seed", step=1, key="train_job_seed")
        c5.text_input("Suffix", max_chars=MAX_SUFFIX, key="train_job_suffix")
        w1, w2, w3 = st.columns(3)
        w1.text_input("W&B project (optional)", key="train_job_wandb_project")
        w2.text_input("W&B entity", key="train_job_wandb_entity")
        w3.text_input("W&B tags, comma-separated", key="train_job_wandb_tags")
        if settings.kind == "azure":
            st.selectbox(
                "Azure training type",
                TRAINING_TYPES,
                key="train_job_azure_type",
                help="globalStandard is cheaper; standard keeps the data in the region; "
                "developerTier uses idle capacity and may be pre-empted.",
            )
        submitted = st.form_submit_button("Create job", type="primary", disabled=no_key)
    persist_kept(JOB_KEYS)
    state.persist("train_job_model", state.CHECK_MODEL)
    state.persist("train_job_epochs", state.EPOCHS)
    if submitted:
        _create_job()


def _number(field: str, text: str, kind: type[int] | type[float]) -> int | float | str:
    """Return the field's number, or "auto"; ``FtkitError`` names the field otherwise."""
    try:
        return parse_auto(text, kind)
    except FtkitError as err:
        raise FtkitError(f"{field}: {err}") from None


def _job_request() -> TrainRequest:
    """Return the job the form describes; ``FtkitError`` names a field that is not a number."""
    ss = st.session_state
    return TrainRequest(
        training_file=ss["train_job_training_file"].strip(),
        validation_file=ss["train_job_validation_file"].strip() or None,
        base_model=ss["train_job_model"],
        epochs=ss["train_job_epochs"],
        batch_size=_number("Batch size", ss["train_job_batch"], int),  # type: ignore[arg-type]
        learning_rate=_number("Learning rate multiplier", ss["train_job_lr"], float),
        seed=int(ss["train_job_seed"]),
        suffix=ss["train_job_suffix"] or None,
        training_type=ss.get("train_job_azure_type") if settings.kind == "azure" else None,
    )


def _wandb() -> Wandb | None:
    """Return the W&B integration the form names, if any."""
    ss = st.session_state
    tags = tuple(t.strip() for t in ss["train_job_wandb_tags"].split(",") if t.strip())
    project = ss["train_job_wandb_project"].strip()
    return Wandb(project, ss["train_job_wandb_entity"] or None, tags) if project else None


def _provider_trainer(client: openai.OpenAI, wandb: Wandb | None = None) -> OpenAITrainer:
    """Return the provider backend for the sidebar's endpoint (Azure's own for Azure)."""
    if settings.kind == "azure":
        return AzureTrainer(client, settings.endpoint, wandb=wandb)
    return OpenAITrainer(client, settings.endpoint, backend=settings.kind, wandb=wandb)


def _create_job() -> None:
    """Create the job at the provider and put it in the monitor."""
    try:
        trainer = _provider_trainer(current_client(settings), _wandb())
        job = start_job(trainer, _job_request(), record=record_from_page).job
    except FtkitError as err:  # FineTuningClosedError among them: its line says what to do
        _fail(err)
        return
    _watch(job["id"], PROVIDER)
    st.toast(f"Created {job['id']}", icon=":material/rocket_launch:")


def _watch(job_id: str, backend: str) -> None:
    """Put a job into the monitor."""
    st.session_state["upload_job_id"] = job_id
    st.session_state["upload_job_backend"] = backend
    st.session_state["upload_polls"] = 0
    st.session_state["upload_job_ended"] = False


def _provider_section() -> bool:
    """Draw the provider's steps; return True when it can be called (a key, an allowed URL)."""
    show_endpoint(settings)
    problem = missing_key(settings)
    refused = endpoint_refusal(settings)
    if refused is not None:
        st.error(literal(refused), icon=":material/block:")
    elif problem is not None:
        st.info(
            f"This choice needs an API key: {literal(problem)}. Uploading and training are "
            "disabled until one is set (sidebar, Provider and keys).",
            icon=":material/key:",
        )
    no_key = problem is not None or refused is not None
    _upload(no_key)
    _job_form(no_key)
    return not no_key


if where == LOCAL:
    usable = local_section(
        workspace,
        train_path,
        val_path,
        source=_source,
        on_started=lambda job_id: _watch(job_id, LOCAL),
    )
elif where in HOSTED_WHERE:
    usable = hosted_section(
        where,
        train_path,
        val_path,
        source=_source,
        on_started=lambda job_id: _watch(job_id, where),
        fail=_fail,
    )
else:
    usable = _provider_section()


# ---- monitor -----------------------------------------------------------------------------------
def _show(backend: str, job_id: str) -> JobInfo:
    """Draw the monitor for the job on its backend; return the job."""
    if backend == LOCAL:
        trainer = local_trainer(workspace)
        return show_job(trainer, job_id, on_finished=_finished, shown=_shown_id)
    if backend in HOSTED_WHERE:
        hosted = hosted_trainer(backend)
        job = show_job(hosted, job_id, on_finished=_finished)
        if job["status"] == "succeeded":
            show_serving(backend, hosted, job)
        return job
    client = current_client(settings)
    trainer = _provider_trainer(client)
    pause = lambda job: pause_job(client, job)  # noqa: E731
    job = show_job(trainer, job_id, on_finished=_finished, pause=pause)
    if isinstance(trainer, AzureTrainer) and job["status"] == "succeeded":
        serving = trainer.serving(job)
        st.info(literal(serving.note), icon=":material/dns:")
    return job


def _shown_id(text: str) -> str:
    """Return a job id or message to show: without the workspace's server path when hosted."""
    return scrub_paths(text, workspace) if hosted else text


def _finished(job: JobInfo, metrics: list[MetricRow]) -> None:
    """Record once how the job ended, on the history run its metadata names."""
    if recorded_once(job["id"], "upload_recorded_jobs"):
        record_finished(job, metrics=metrics, record=record_from_page)


job_id = st.session_state["upload_job_id"]
backend = st.session_state["upload_job_backend"]
provider_ok = missing_key(settings) is None and endpoint_refusal(settings) is None
if job_id and (backend == LOCAL or backend in HOSTED_WHERE or provider_ok):
    st.subheader("Monitor")
    st.caption(f"{WHERE.get(backend, backend)} · job {_shown_id(job_id)}")
    active = st.session_state["upload_polls"] < MAX_POLLS

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def monitor() -> None:
        st.session_state["upload_polls"] += 1
        try:
            job = _show(backend, job_id)
        except FtkitError as err:
            _fail(err)
            return
        ended = job["status"] in ("succeeded", "failed", "cancelled")
        if ended:
            st.session_state["upload_polls"] = MAX_POLLS  # stop refreshing a finished job
        elif st.session_state.get("upload_job_ended"):  # resumed: watch it again
            _watch(job["id"], backend)
            st.rerun()
        st.session_state["upload_job_ended"] = ended

    monitor()
    ended = st.session_state.get("upload_job_ended", False)
    if not active and not ended and st.button("Refresh the monitor", key="upload_refresh"):
        st.session_state["upload_polls"] = 0
        st.rerun()


# ---- past jobs ---------------------------------------------------------------------------------
def _open_past(ids: list[str], backend: str) -> None:
    """Offer the listed jobs; the chosen one opens in the monitor."""
    if not ids:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox(
        "Open a past job in the monitor", ids, key=f"train_past_{backend}", format_func=_shown_id
    )
    if right.button("Open", key=f"train_open_{backend}") and chosen:
        _watch(chosen, backend)
        st.rerun()


def _provider_lists() -> None:
    """Show the provider's past jobs and files (on request) and the models' shutdown dates."""
    st.subheader("Past jobs, uploaded files and model shutdown dates")
    if st.button("Load lists", key="upload_lists", disabled=not usable):
        try:
            client = current_client(settings)
            st.session_state["train_past_jobs"] = (
                list_jobs(client),
                list_files(client),
                list_models(client),
            )
        except FtkitError as err:
            _fail(err)
    loaded = st.session_state["train_past_jobs"]
    if loaded is None:
        st.caption(
            "Models you can fine-tune here, and the day their fine-tuned models stop serving"
        )
        st.dataframe(_model_rows(table_models()), hide_index=True)
        return
    jobs, files, models = loaded
    st.caption("Fine-tuning jobs, newest first (times in UTC)")
    st.dataframe(job_table(jobs), hide_index=True, width="stretch")
    _open_past([job["id"] for job in jobs], PROVIDER)
    st.caption("Uploaded files, newest first")
    st.dataframe(file_table(files), hide_index=True, width="stretch")
    st.caption("Models, and the day their fine-tuned models stop serving")
    st.dataframe(_model_rows(models), hide_index=True, width="stretch")


def _model_rows(models: Sequence[ModelRow]) -> list[dict[str, str]]:
    """Return the models as people read them: name, whether fine-tuned, the shutdown date."""
    return [
        {
            "model": row["name"],
            "kind": "fine-tuned" if row["fine_tuned"] else "base",
            "stops serving": row["shutdown_date"] or "not announced",
        }
        for row in models
    ]


def _hosted_lists(backend: str) -> None:
    """Show the provider's past jobs, on request; each opens in the monitor."""
    st.subheader(f"Past jobs at {WHERE[backend]}")
    if st.button("Load past jobs", key=f"train_{backend}_lists", disabled=not usable):
        try:
            st.session_state[f"train_{backend}_past"] = hosted_trainer(backend).list_jobs()
        except FtkitError as err:
            _fail(err)
    jobs = st.session_state.get(f"train_{backend}_past")
    if jobs:
        st.dataframe(job_table(jobs), hide_index=True, width="stretch")
        _open_past([job["id"] for job in jobs], backend)


if where == LOCAL:
    st.subheader("Past runs on this computer")
    try:
        runs = past_local_runs(workspace)
    except FtkitError as err:
        _fail(err)
        runs = []
    if runs:
        st.caption("Runs in your workspace, newest first (times in UTC)")
        shown = [{**job, "id": _shown_id(job["id"])} for job in runs]
        st.dataframe(job_table(shown), hide_index=True, width="stretch")
    else:
        st.caption("No runs on this computer yet.")
    _open_past([job["id"] for job in runs], LOCAL)
elif where in HOSTED_WHERE:
    _hosted_lists(where)
else:
    _provider_lists()

next_step(
    "app_pages/evaluate.py",
    "Evaluate",
    "Score the trained model on held-out items: it is already filled in there.",
)
