"""Local models, ``local:DIR``: which folders hold the model, its adapter and its tokenizer.

``DIR`` (``~`` expanded) is one of, in this order of preference:

    a run folder      ``merged/`` (a full model, preferred) or ``adapter/`` inside it, as a
                      local training run writes them
    a PEFT adapter    ``adapter_config.json``; the base model is its ``base_model_name_or_path``,
                      a folder or a Hugging Face Hub id
    a model folder    ``config.json`` (a full or merged model)

The tokenizer comes from the adapter's (or merged model's) folder when it holds one, else from
the base model. Resolving reads only small JSON files and never imports torch; loading is
``ftkit.evaluation.local_predictor``. In hosted mode (``workspace`` given) ``DIR`` must be a
folder inside the workspace, an adapter's base model too unless it is a Hub id, and messages
never show the workspace's server path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import orjson

from ftkit.errors import EvaluationError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "EXPECTED",
    "LOCAL_PREFIX",
    "LocalModel",
    "is_local",
    "resolve_local",
    "shown_dir",
]

LOCAL_PREFIX = "local:"
DEFAULT_BATCH_SIZE = 8  # items a local model answers at once
EXPECTED = (
    "expected a run folder (with merged/ or adapter/), a PEFT adapter folder "
    "(adapter_config.json) or a model folder (config.json)"
)
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json")
MAX_CONFIG_BYTES = 1_000_000  # an adapter_config.json is a few kB
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


@dataclass(frozen=True)
class LocalModel:
    """A resolved ``local:`` model: where its weights, adapter and tokenizer are."""

    name: str  # "local:DIR" as runs show it: relative, home-shortened, or inside the workspace
    model: str  # the full model's folder, or the adapter's base model (a folder or a Hub id)
    adapter: str | None = None  # the PEFT adapter's folder
    tokenizer: str = ""  # the folder (or Hub id) the tokenizer is loaded from
    hub_base: bool = False  # ``model`` is a Hugging Face Hub id, not a folder

    def describe(self) -> str:
        """Return what will be loaded, in words, for a progress line."""
        if self.adapter is None:
            return f"{self.name} (a full model)"
        base = self.model if self.hub_base else "its base model folder"
        return f"{self.name} (a LoRA adapter on {base})"


def is_local(model: str) -> bool:
    """Return True when ``model`` names a local model (``local:DIR``)."""
    return model.strip().startswith(LOCAL_PREFIX)


def shown_dir(path: Path) -> str:
    """Return ``path`` as runs show it: relative to here, else under ``~``, else absolute."""
    absolute = Path(os.path.abspath(path))
    for root, prefix in ((Path.cwd(), ""), (Path.home(), "~/")):
        if absolute.is_relative_to(root) and absolute != root:
            return prefix + absolute.relative_to(root).as_posix()
    return absolute.as_posix()


def _typed(model: str) -> str:
    typed = model.strip().removeprefix(LOCAL_PREFIX).strip()
    if not typed:
        raise EvaluationError(f"{LOCAL_PREFIX}: name a folder after it, e.g. local:runs/pricer")
    return typed


def _in_workspace(typed: str, workspace: Path) -> tuple[Path, str]:
    """Return the real folder ``typed`` names inside ``workspace``, and its name there."""
    parts = PurePosixPath(typed.replace("\\", "/"))
    outside = parts.is_absolute() or bool(PureWindowsPath(typed).anchor)
    if outside or typed.startswith("~") or ".." in parts.parts:
        raise EvaluationError(f"local:{typed}: not a folder in your workspace")
    root = workspace.resolve()
    try:
        folder = (root / parts).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        raise EvaluationError(f"local:{typed}: no such folder in your workspace") from None
    if not folder.is_relative_to(root):
        raise EvaluationError(f"local:{typed}: not a folder in your workspace")
    return folder, folder.relative_to(root).as_posix() or "."


def _located(typed: str, workspace: Path | None) -> tuple[Path, str]:
    """Return the folder ``typed`` names and the run's model name for it."""
    if workspace is not None:
        folder, inside = _in_workspace(typed, workspace)
        return folder, LOCAL_PREFIX + inside
    folder = Path(os.path.abspath(Path(typed).expanduser()))
    name = LOCAL_PREFIX + shown_dir(folder)
    if not folder.exists():
        raise EvaluationError(f"{name}: no such folder; {EXPECTED}")
    return folder, name


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / name).is_file() for name in TOKENIZER_FILES)


def _base_model(name: str, adapter: Path, workspace: Path | None) -> tuple[str, bool]:
    """Return the adapter's base model (a folder, or a Hub id) and whether it is a Hub id."""
    config = adapter / "adapter_config.json"
    try:
        with config.open("rb") as handle:
            data = orjson.loads(handle.read(MAX_CONFIG_BYTES + 1))
    except (OSError, orjson.JSONDecodeError):
        raise EvaluationError(f"{name}: adapter_config.json is not readable JSON") from None
    base = data.get("base_model_name_or_path") if isinstance(data, dict) else None
    if not isinstance(base, str) or not base.strip():
        raise EvaluationError(f"{name}: adapter_config.json names no base_model_name_or_path")
    base = base.strip()
    if workspace is not None:
        return _workspace_base(name, base, workspace)
    folder = Path(os.path.abspath(Path(base).expanduser()))
    if folder.is_dir():
        return str(folder), False
    if _HUB_ID.fullmatch(base):
        return base, True
    raise EvaluationError(f"{name}: the adapter's base model folder {base} does not exist")


def _workspace_base(name: str, base: str, workspace: Path) -> tuple[str, bool]:
    """Return the adapter's base model: a folder inside ``workspace``, else a Hub id."""
    root = workspace.resolve()
    relative = not (PurePosixPath(base).is_absolute() or PureWindowsPath(base).anchor)
    try:
        folder = (root / base).resolve(strict=True) if relative else None
    except (OSError, RuntimeError, ValueError):
        folder = None
    if folder is not None and folder.is_relative_to(root) and folder.is_dir():
        return str(folder), False
    if _HUB_ID.fullmatch(base):
        return base, True
    raise EvaluationError(
        f"{name}: the adapter's base model is neither a folder in your workspace "
        "nor a Hugging Face Hub id"
    )


def _adapter(name: str, adapter: Path, workspace: Path | None) -> LocalModel:
    base, hub = _base_model(name, adapter, workspace)
    tokenizer = str(adapter) if _has_tokenizer(adapter) else base
    return LocalModel(name, base, str(adapter), tokenizer, hub)


def _merged(name: str, run: Path) -> LocalModel:
    merged, adapter = run / "merged", run / "adapter"
    use_adapter = not _has_tokenizer(merged) and _has_tokenizer(adapter)
    return LocalModel(name, str(merged), None, str(adapter if use_adapter else merged))


def _inside(name: str, resolved: LocalModel, workspace: Path | None) -> LocalModel:
    """Return ``resolved`` when every folder it names is inside ``workspace`` (if given)."""
    if workspace is None:
        return resolved
    root = workspace.resolve()
    folders = [resolved.adapter, resolved.tokenizer, None if resolved.hub_base else resolved.model]
    for folder in folders:
        if folder and Path(folder).exists() and not Path(folder).resolve().is_relative_to(root):
            raise EvaluationError(f"{name}: it leads out of your workspace")
    return resolved


def resolve_local(model: str, *, workspace: Path | None = None) -> LocalModel:
    """Return where ``local:DIR`` keeps its model; raise ``EvaluationError`` naming DIR if unusable.

    With ``workspace`` (hosted mode) DIR is a folder name inside it, and the name of the run
    is ``local:`` plus that name.
    """
    typed = _typed(model)
    folder, name = _located(typed, workspace)
    if not folder.is_dir():
        raise EvaluationError(f"{name}: is a file, not a folder; {EXPECTED}")
    if (folder / "merged" / "config.json").is_file():
        return _inside(name, _merged(name, folder), workspace)
    if (folder / "adapter" / "adapter_config.json").is_file():
        return _inside(name, _adapter(name, folder / "adapter", workspace), workspace)
    if (folder / "adapter_config.json").is_file():
        return _inside(name, _adapter(name, folder, workspace), workspace)
    if (folder / "config.json").is_file():
        return _inside(name, LocalModel(name, str(folder), None, str(folder)), workspace)
    raise EvaluationError(f"{name}: {EXPECTED}; found none of them")
