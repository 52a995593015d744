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
from ftkit.training.jobs import JobInfo
from ftkit.training.trainer import Trainer, TrainRequest
from ftkit.ui import state
from ftkit.ui.markdown import literal
from ftkit.ui.training import bind_kept, persist_kept

__all__ = [
    "INSTALL_LINE",
    "LOCAL",
    "RUNS_FOLDER",
    "local_section",
    "local_trainer",
    "past_local_runs",
    "runs_root",
]

LOCAL = "local"
RUNS_FOLDER = Path(".ftkit") / "local-runs"
INSTALL_LINE = (
    "Install them with `pip install -r requirements-train.txt` (on a GPU machine, install "
    "PyTorch's CUDA build first); see docs/training.md."
)
LOCAL_KEYS = tuple(key for key in state.TRAIN_KEPT if key.startswith("train_local_"))
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
    return workspace / RUNS_FOLDER


def local_trainer(workspace: Path) -> Trainer:
    """Return the local backend rooted in the workspace; ``FtkitError`` where it is off."""
    if not _config().allow_local_training:
        raise FtkitError(LOCAL_TRAINING_OFF)
    from ftkit.training.local import LocalTrainer

    return _InWorkspace(LocalTrainer(runs_root(workspace)), workspace)


def past_local_runs(workspace: Path, limit: int = 20) -> list[JobInfo]:
    """Return the runs in the workspace, newest first (none where local training is off)."""
    if not _config().allow_local_training or not runs_root(workspace).is_dir():
        return []
    from ftkit.training.local import LocalTrainer

    return LocalTrainer(runs_root(workspace)).list_jobs(limit)


class _InWorkspace:
    """A local backend that only touches runs inside the session's workspace."""

    backend = LOCAL

    def __init__(self, inner: Trainer, workspace: Path) -> None:
        self.inner = inner
        self.workspace = workspace

    def _check(self, job_id: str) -> str:
        """Return ``job_id`` if it names a folder inside the workspace, else refuse."""
        if not Path(job_id).resolve().is_relative_to(self.workspace.resolve()):
            raise OutputError(f"{Path(job_id).name}: not a run in your workspace")
        return job_id

    def start(self, request: TrainRequest, *, run_id: str | None = None) -> JobInfo:
        """Start the run."""
        return self.inner.start(request, run_id=run_id)

    def retrieve(self, job_id: str) -> JobInfo:
        """Return the run as it is now."""
        return self.inner.retrieve(self._check(job_id))

    def events(self, job_id: str, *, limit: int = 100) -> list:  # type: ignore[type-arg]
        """Return the run's events, newest first."""
        return self.inner.events(self._check(job_id), limit=limit)

    def checkpoints(self, job_id: str) -> list:  # type: ignore[type-arg]
        """Return the run's checkpoints, latest first."""
        return self.inner.checkpoints(self._check(job_id))

    def metrics(self, job_id: str) -> list:  # type: ignore[type-arg]
        """Return the run's metrics, oldest step first."""
        return self.inner.metrics(self._check(job_id))

    def cancel(self, job_id: str) -> JobInfo:
        """Stop the run."""
        return self.inner.cancel(self._check(job_id))

    def resume(self, job_id: str) -> JobInfo:
        """Continue the run from its last checkpoint."""
        return self.inner.resume(self._check(job_id))


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
    if _HUB_ID.fullmatch(text):
        return text
    raise OutputError(
        f"Base model: {text}: give a Hugging Face id (org/name) or a folder inside your workspace"
    )


def _out(text: str, workspace: Path, hosted: bool) -> str | None:
    """Return the run's output folder, or None for a new folder under the runs folder."""
    text = text.strip()
    if not text:
        return None
    return str(_inside(workspace, text, "Output folder") if hosted else Path(text).expanduser())


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
        qlora=bool(ss["train_local_qlora"]),
        out=_out(ss["train_local_out"], workspace, hosted),
        merge=bool(ss["train_local_merge"]),
    )


def _form(disabled: bool, cuda: bool) -> None:
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
    c4, c5 = st.columns(2)
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
        "QLoRA (4-bit base model)",
        key="train_local_qlora",
        disabled=disabled or not cuda,
        help=None if cuda else "QLoRA needs a CUDA GPU; none was found on this computer.",
    )
    st.checkbox(
        "Also save the model merged with its adapter", key="train_local_merge", disabled=disabled
    )
    st.text_input(
        "Output folder (blank: a new folder in your workspace's .ftkit/local-runs)",
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
        st.info(f"{literal(missing)} {INSTALL_LINE}", icon=":material/download:")
    st.subheader("2. Train on this computer")
    st.caption("Trains a LoRA adapter on an open model; real data needs a GPU.")
    _form(missing is not None, missing is None and local_plan.has_cuda())
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

    try:
        train, val = _files(train_path, val_path, source)
        plan = plan_run(_request(train, val, workspace, hosted))
    except FtkitError as err:
        st.info(literal(_scrub(str(err), workspace, hosted)), icon=":material/info:")
        return str(err)
    st.markdown("\n".join(f"- {literal(line)}" for line in plan.lines()))
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

    return scrub_paths(text, workspace) if hosted else text
