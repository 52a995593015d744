"""The Train page's "This computer (GPU)" choice: what it needs, its form, its plan, its runs.

Runs live in the session's workspace under ``.ftkit/local-runs`` (one folder per run, the
run's job id). In hosted mode the choice is off unless the operator turns ``local_training``
on, a base-model folder or an output folder must be inside the user's workspace, and only
runs inside the workspace open in the monitor. The training packages are imported only by
``ftkit.training.local`` and ``ftkit.training.local_plan``, when a run is planned or started.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

import streamlit as st

from ftkit.errors import FtkitError, OutputError
from ftkit.hosting import LOCAL_TRAINING_OFF, HostingConfig
from ftkit.training.backends import LOCAL_RUNS
from ftkit.training.jobs import JobInfo
from ftkit.training.trainer import Trainer, TrainRequest
from ftkit.ui import state
from ftkit.ui.markdown import literal
from ftkit.ui.training import bind_kept, persist_kept

__all__ = [
    "INSTALL_LINE",
    "LOCAL",
    "in_words",
    "local_section",
    "local_trainer",
    "past_local_runs",
    "runs_root",
]

LOCAL = "local"
INSTALL_LINE = "GPU set-up: docs/training.md. Everything else on this page works without them."
LOCAL_KEYS = tuple(key for key in state.TRAIN_KEPT if key.startswith("train_local_"))
_FLAG = re.compile(r"--([a-z][a-z-]*)")
_FLAG_WORDS = {"qlora": "QLoRA", "batch-size": "batch size", "max-steps": "max steps"}
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


def _config() -> HostingConfig:
    """Return the hosting settings; a broken secrets file counts as hosted (fail closed)."""
    from ftkit.ui.auth import hosting_config

    try:
        return hosting_config()
    except FtkitError:
        return HostingConfig(hosted=True)


def runs_root(workspace: Path) -> Path:
    """Return the folder that holds this session's local runs."""
    return workspace / LOCAL_RUNS


def local_trainer(workspace: Path) -> Trainer:
    """Return the local backend rooted in the workspace; ``FtkitError`` where it is off.

    In hosted mode it is confined: a job id outside the workspace's runs folder is refused.
    """
    config = _config()
    if not config.allow_local_training:
        raise FtkitError(LOCAL_TRAINING_OFF)
    from ftkit.training.local import LocalTrainer

    return LocalTrainer(runs_root(workspace), confine=config.hosted)


def past_local_runs(workspace: Path, limit: int = 20) -> list[JobInfo]:
    """Return the runs in the workspace, newest first (none where local training is off)."""
    if not _config().allow_local_training or not runs_root(workspace).is_dir():
        return []
    from ftkit.training.local import LocalTrainer

    return LocalTrainer(runs_root(workspace), confine=True).list_jobs(limit)


def in_words(text: str) -> str:
    """Return a line from the plan or the backend with command-line flags said in words."""
    return _FLAG.sub(lambda m: _FLAG_WORDS.get(m.group(1), m.group(1).replace("-", " ")), text)


def _inside(workspace: Path, text: str, field: str) -> Path:
    """Return ``text`` as a path inside the workspace, or refuse it naming ``field``."""
    parts = PurePosixPath(text.replace("\\", "/"))
    if parts.is_absolute() or PureWindowsPath(text).anchor or ".." in parts.parts:
        raise OutputError(f"{field}: {text}: must be a folder inside your workspace")
    path = (workspace / parts).resolve()
    if not path.is_relative_to(workspace.resolve()):
        raise OutputError(f"{field}: {text}: must be a folder inside your workspace")
    return path


def _base_model(text: str, workspace: Path, hosted: bool) -> str:
    """Return the base model to load: a Hub id, or a folder (inside the workspace when hosted)."""
    text = text.strip()
    if not text:
        raise FtkitError("Base model: give a Hugging Face id (org/name) or a model folder")
    if not hosted:
        return str(Path(text).expanduser()) if Path(text).expanduser().is_dir() else text
    try:
        folder = _inside(workspace, text, "Base model")
    except OutputError:
        folder = None
    if folder is not None and folder.is_dir():
        return str(folder)
    if _HUB_ID.fullmatch(text) and not Path(text).exists():  # not a server folder by accident
        return text
    raise OutputError(
        f"Base model: {text}: give a Hugging Face id (org/name) or a folder inside your workspace"
    )


def _out(text: str, workspace: Path, hosted: bool) -> str | None:
    """Return the run's output folder, or None for a new folder under the runs folder."""
    text = text.strip()
    if not text:
        return None
    if hosted:  # runs stay in the runs folder, where the confined backend finds them
        return str(_inside(runs_root(workspace), text, "Output folder"))
    return str(Path(text).expanduser())


def _request(train: Path, val: Path | None, workspace: Path, hosted: bool) -> TrainRequest:
    """Return the run the local form describes; ``FtkitError`` names the field at fault."""
    ss = st.session_state
    steps = int(ss["train_local_max_steps"])
    return TrainRequest(
        training_file=str(train),
        validation_file=str(val) if val is not None else None,
        base_model=_base_model(ss["train_local_base_model"], workspace, hosted),
        epochs=int(ss["train_local_epochs"]),
        max_steps=steps or None,
        learning_rate=float(ss["train_local_lr"]),
        lora_r=int(ss["train_local_lora_r"]),
        lora_alpha=int(ss["train_local_lora_alpha"]),
        batch_size=int(ss["train_local_batch"]),
        qlora=bool(ss["train_local_qlora"]),
        out=_out(ss["train_local_out"], workspace, hosted),
        merge=bool(ss["train_local_merge"]),
    )


def _form(disabled: bool, cuda: bool, hosted: bool) -> None:
    """Draw the local form; its values are kept between pages."""
    bind_kept(LOCAL_KEYS)
    st.text_input(
        "Base model (Hugging Face id, or a model folder)",
        key="train_local_base_model",
        placeholder="meta-llama/Llama-3.2-1B-Instruct",
        disabled=disabled,
    )
    c1, c2, c3 = st.columns(3)
    c1.number_input(
        "Epochs", min_value=1, max_value=50, step=1, key="train_local_epochs", disabled=disabled
    )
    c2.number_input(
        "Max steps (0: no limit)",
        min_value=0,
        step=10,
        key="train_local_max_steps",
        disabled=disabled,
    )
    c3.number_input(
        "Learning rate",
        min_value=1e-6,
        max_value=1e-2,
        step=1e-5,
        format="%.5f",
        key="train_local_lr",
        disabled=disabled,
    )
    c4, c5, c6 = st.columns(3)
    c6.number_input(
        "Batch size", min_value=1, max_value=256, step=1, key="train_local_batch", disabled=disabled
    )
    c4.number_input(
        "LoRA r", min_value=1, max_value=512, step=1, key="train_local_lora_r", disabled=disabled
    )
    c5.number_input(
        "LoRA alpha",
        min_value=1,
        max_value=1024,
        step=1,
        key="train_local_lora_alpha",
        disabled=disabled,
    )
    if not cuda:
        st.session_state["train_local_qlora"] = False
    st.checkbox(
        "QLoRA (4-bit base model)"
        if cuda
        else "QLoRA (4-bit base model): needs a CUDA GPU, none found",
        key="train_local_qlora",
        disabled=disabled or not cuda,
    )
    st.checkbox(
        "Also save the model merged with its adapter", key="train_local_merge", disabled=disabled
    )
    st.text_input(
        "Output folder (blank: a new folder in your workspace's .ftkit/local-runs)"
        if not hosted
        else "Output folder name in your workspace's .ftkit/local-runs (blank: a new one)",
        key="train_local_out",
        disabled=disabled,
    )
    persist_kept(LOCAL_KEYS)


def local_section(
    workspace: Path,
    train_path: str,
    val_path: str,
    *,
    source: Callable[[str], Path],
    on_started: Callable[[str], None],
) -> bool:
    """Draw the local choice: what it needs, the form, the plan and Start; True when usable."""
    config = _config()
    if not config.allow_local_training:
        st.info(LOCAL_TRAINING_OFF, icon=":material/block:")
        return False
    from ftkit.training import local_plan

    missing = local_plan.missing_packages()
    if missing is not None:
        st.info(f"{literal(missing.capitalize())}. {INSTALL_LINE}", icon=":material/download:")
    st.subheader("2. Train on this computer")
    st.caption("Trains a LoRA adapter on an open model; real data needs a GPU.")
    _form(
        missing is not None, missing is None and local_plan.select_device() == "cuda", config.hosted
    )
    if missing is not None:
        return False
    refusal = _show_plan(workspace, train_path, val_path, source, config.hosted)
    if st.button(
        "Start training", key="train_local_start", type="primary", disabled=refusal is not None
    ):
        _start(workspace, train_path, val_path, source, config.hosted, on_started)
    return True


def _files(
    train_path: str, val_path: str, source: Callable[[str], Path]
) -> tuple[Path, Path | None]:
    """Return the chosen files as paths (inside the workspace when hosted)."""
    if not train_path:
        raise FtkitError("Training file: choose the training JSONL above")
    return source(train_path), source(val_path) if val_path else None


def _show_plan(
    workspace: Path, train_path: str, val_path: str, source: Callable[[str], Path], hosted: bool
) -> str | None:
    """Show what the run would do (GPU, memory, steps, time); return why it cannot start."""
    from ftkit.training.local_plan import plan_run

    ss = st.session_state
    try:
        _base_model(ss["train_local_base_model"], workspace, hosted)  # the form's own fields first
        _out(ss["train_local_out"], workspace, hosted)
        train, val = _files(train_path, val_path, source)
        plan = plan_run(_request(train, val, workspace, hosted))
    except FtkitError as err:
        st.info(literal(_scrub(str(err), workspace, hosted)), icon=":material/info:")
        return str(err)
    lines = [line for line in plan.lines() if not line.startswith("refused: ")]
    st.caption("The plan on this computer (estimates):")
    st.markdown("\n".join(f"- {literal(_scrub(line, workspace, hosted))}" for line in lines))
    if plan.refusal is not None:
        st.error(literal(_scrub(plan.refusal, workspace, hosted)), icon=":material/block:")
    return plan.refusal


def _start(
    workspace: Path,
    train_path: str,
    val_path: str,
    source: Callable[[str], Path],
    hosted: bool,
    on_started: Callable[[str], None],
) -> None:
    """Start the run and put it in the monitor; show one line when it cannot start."""
    try:
        train, val = _files(train_path, val_path, source)
        job = local_trainer(workspace).start(_request(train, val, workspace, hosted))
    except FtkitError as err:
        st.error(literal(_scrub(str(err), workspace, hosted)), icon=":material/error:")
        return
    on_started(job["id"])
    st.rerun()


def _scrub(text: str, workspace: Path, hosted: bool) -> str:
    """Return ``text`` without the workspace's server path in hosted mode."""
    from ftkit.workspace import scrub_paths

    return in_words(scrub_paths(text, workspace) if hosted else text)
