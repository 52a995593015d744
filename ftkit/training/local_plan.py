"""What a local run needs, before it starts: packages, device, memory, steps and time.

Nothing here imports torch at module import; ``plan_run`` imports it (when installed) only to
look at the device. Memory and time are estimates from the model's size, said as such.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftkit.training.trainer import TrainRequest

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LEARNING_RATE",
    "MAX_CPU_PARAMETERS",
    "TRAIN_PACKAGES",
    "LocalPlan",
    "base_model_problem",
    "count_examples",
    "missing_packages",
    "plan_run",
    "resolve_settings",
    "select_device",
]

TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate")
DEFAULT_BATCH_SIZE = 8
DEFAULT_LEARNING_RATE = 2e-4
MAX_CPU_PARAMETERS = 3_000_000_000
GIB = 1024**3
SEQUENCE = 512  # tokens per example assumed for the activation allowance
# Rough training throughput for a 1B-parameter model, tokens per second, by device kind.
TOKENS_PER_SECOND_1B = {"cuda": 3000.0, "mps": 400.0, "cpu": 60.0}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


def missing_packages() -> str | None:
    """Return one line saying which training packages are missing and how to install them."""
    missing = [name for name in TRAIN_PACKAGES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    torch = (
        "install the torch build for this machine first (see docs/training.md), then "
        if "torch" in missing
        else ""
    )
    return (
        f"local training needs {', '.join(missing)}: {torch}pip install -r requirements-train.txt"
    )


def resolve_settings(request: TrainRequest) -> tuple[int, int, float]:
    """Return the epochs, batch size and learning rate, with "auto" replaced by ftkit's choice."""
    epochs = 1 if request.epochs == "auto" else request.epochs
    batch = DEFAULT_BATCH_SIZE if request.batch_size == "auto" else request.batch_size
    rate = DEFAULT_LEARNING_RATE if request.learning_rate == "auto" else request.learning_rate
    return epochs, batch, float(rate)


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or not _HUB_ID.match(name)


def base_model_problem(name: str) -> str | None:
    """Return one line when ``name`` is neither a model folder nor a Hugging Face Hub id."""
    if not name.strip():
        return "base model: required (a Hugging Face Hub id or a model folder)"
    if os.path.isdir(os.path.expanduser(name)):
        config = Path(os.path.expanduser(name)) / "config.json"
        if not config.is_file():
            return f"base model {name}: the folder has no config.json"
        if _read_config(config) is None:
            return f"base model {name}: config.json is not a JSON object"
        return None
    if _looks_like_path(name):
        return f"base model {name}: no such folder (and not a Hub id like org/name)"
    return None


def _hub_file(name: str, filename: str) -> str | None:
    """Return the cached path of a Hub model's file, or None when it is not cached."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(name, filename)
    return found if isinstance(found, str) else None


def _model_files(name: str) -> tuple[Path | None, list[Path]]:
    """Return the model's config.json and its safetensors files, where they are on disk."""
    folder = Path(os.path.expanduser(name))
    if folder.is_dir():
        return folder / "config.json", sorted(folder.glob("*.safetensors"))
    config = _hub_file(name, "config.json")
    if config is None:
        return None, []
    return Path(config), sorted(Path(config).parent.glob("*.safetensors"))


def _safetensors_parameters(files: list[Path]) -> int | None:
    """Return the number of parameters the safetensors headers describe, or None."""
    total = 0
    for path in files:
        try:
            with open(path, "rb") as handle:
                size = struct.unpack("<Q", handle.read(8))[0]
                header = json.loads(handle.read(min(size, 100_000_000)))
        except (OSError, ValueError, struct.error):
            return None
        for key, tensor in header.items():
            if key != "__metadata__" and isinstance(tensor, dict):
                total += math.prod(int(n) for n in tensor.get("shape", []))
    return total or None


def _config_parameters(config: dict[str, Any]) -> int | None:
    """Return a Llama-style model's parameter count from its config.json, or None."""
    try:
        h = int(config["hidden_size"])
        layers = int(config["num_hidden_layers"])
        inter = int(config.get("intermediate_size", 4 * h))
        vocab = int(config["vocab_size"])
        heads = int(config.get("num_attention_heads", 1))
        kv = h * int(config.get("num_key_value_heads", heads)) // max(heads, 1)
    except (KeyError, TypeError, ValueError):
        return None
    tied = 1 if config.get("tie_word_embeddings", False) else 2
    return vocab * h * tied + layers * (2 * h * h + 2 * h * kv + 3 * h * inter)


def _read_config(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def count_examples(path: str) -> tuple[int, int]:
    """Return the training file's examples (non-blank lines) and its size in characters."""
    lines = 0
    chars = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                lines += 1
                chars += len(line)
    return lines, chars


def select_device() -> str:
    """Return the device a run trains on: "cuda", "mps" or "cpu" (imports torch)."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _device() -> tuple[str, str, int | None]:
    """Return the device kind, its description and the memory a run may use there (bytes)."""
    kind = select_device()
    if kind == "cuda":
        import torch

        props = torch.cuda.get_device_properties(0)
        return kind, f"CUDA: {props.name}, {props.total_memory / GIB:.0f} GiB", props.total_memory
    if kind == "mps":
        return kind, "Apple MPS", _available_ram()
    return kind, "no GPU: CPU only, slow", _available_ram()


def _available_ram() -> int | None:
    """Return the RAM available now, in bytes, when the system says."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _count(parameters: int) -> str:
    """Return a parameter count as people say it: 1.24B, 494M, 52K."""
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if parameters >= scale:
            return f"{parameters / scale:.3g}{unit}"
    return str(parameters)


def _lora_parameters(config: dict[str, Any] | None, parameters: int, r: int) -> int:
    """Return the LoRA adapter's parameter count on every linear layer (an estimate)."""
    try:
        assert config is not None
        h = int(config["hidden_size"])
        inter = int(config.get("intermediate_size", 4 * h))
        return r * int(config["num_hidden_layers"]) * (11 * h + 3 * inter)
    except (AssertionError, KeyError, TypeError, ValueError):
        return parameters // 200


def _memory(
    parameters: int, config: dict[str, Any] | None, request: TrainRequest, kind: str, batch: int
) -> int:
    """Return the memory a run needs, in bytes: weights, LoRA with AdamW, activations, overhead."""
    per_weight = 0.55 if request.qlora else (2 if kind == "cuda" else 4)
    lora = _lora_parameters(config, parameters, request.lora_r) * 16
    hidden = int((config or {}).get("hidden_size", 0) or 0)
    layers = int((config or {}).get("num_hidden_layers", 0) or 0)
    activations = batch * SEQUENCE * hidden * layers * 2 * 4
    overhead = GIB // 2 if kind == "cuda" else GIB // 4
    return int(parameters * per_weight) + lora + activations + overhead


@dataclass(frozen=True)
class LocalPlan:
    """A local run before it starts: where, how big, how long, and whether ftkit refuses it."""

    device: str
    parameters: int | None
    memory: int | None
    memory_limit: int | None
    examples: int
    steps: int
    seconds: float | None
    refusal: str | None
    notes: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """Return the plan as lines for the CLI and the Train page."""
        size = _count(self.parameters) if self.parameters else "unknown"
        found = [f"device: {self.device}", f"base model parameters: {size}"]
        if self.memory is not None:
            limit = f" of {self.memory_limit / GIB:.1f} GiB" if self.memory_limit else ""
            found.append(f"memory needed: about {self.memory / GIB:.1f} GiB{limit} (an estimate)")
        found.append(f"examples: {self.examples:,}; steps: {self.steps:,}")
        if self.seconds is not None:
            found.append(f"time: roughly {_duration(self.seconds)} (a rough guess)")
        found.extend(self.notes)
        if self.refusal:
            found.append(f"refused: {self.refusal}")
        return found


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _parameters(name: str) -> tuple[int | None, dict[str, Any] | None, str | None]:
    """Return the model's parameter count and config, or a line why they cannot be known."""
    config_path, weights = _model_files(name)
    config = _read_config(config_path)
    offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    if config_path is None and offline:
        return None, None, f"base model {name}: not in the Hugging Face cache and HF_HUB_OFFLINE=1"
    if config_path is not None and config is None:
        return None, None, f"base model {name}: config.json is not a JSON object"
    count = _safetensors_parameters(weights) or (_config_parameters(config) if config else None)
    return count, config, None


def _refusal(
    request: TrainRequest, kind: str, parameters: int | None, memory: int | None, limit: int | None
) -> str | None:
    """Return why the run cannot go ahead on this computer, or None."""
    if request.qlora and kind != "cuda":
        return "QLoRA (4-bit) needs a CUDA GPU; train without --qlora here"
    if request.qlora and importlib.util.find_spec("bitsandbytes") is None:
        return 'QLoRA needs bitsandbytes: pip install "bitsandbytes>=0.45" (CUDA machines)'
    if kind == "cpu" and parameters and parameters > MAX_CPU_PARAMETERS:
        return (
            f"a {parameters / 1e9:.1f}B-parameter model is too big to train on a CPU (at most "
            f"{MAX_CPU_PARAMETERS / 1e9:.0f}B); use a GPU or a smaller base model"
        )
    if memory and limit and memory > limit:
        where = "the GPU has" if kind == "cuda" else "available RAM is"
        return (
            f"the run needs about {memory / GIB:.1f} GiB and {where} {limit / GIB:.1f} GiB; "
            "try --qlora, a smaller --batch-size or a smaller base model"
        )
    return None


def plan_run(request: TrainRequest) -> LocalPlan:
    """Return what the run needs here and whether it is refused (one line)."""
    _, batch, _ = resolve_settings(request)
    try:
        examples, chars = count_examples(request.training_file)
    except OSError as err:
        examples, chars = 0, 0
        problem: str | None = f"{request.training_file}: cannot read ({err.strerror or err})"
    else:
        problem = None if examples else f"{request.training_file}: no examples"
    epochs, _, _ = resolve_settings(request)
    steps = request.max_steps or math.ceil(examples / batch) * epochs
    problem = problem or missing_packages() or base_model_problem(request.base_model)
    if problem:
        return LocalPlan("unknown", None, None, None, examples, steps, None, problem)
    kind, device, limit = _device()
    parameters, config, problem = _parameters(request.base_model)
    memory = _memory(parameters, config, request, kind, batch) if parameters else None
    seconds = None
    if parameters:
        tokens = chars / 4 * (steps * batch / max(examples, 1))
        seconds = tokens / (TOKENS_PER_SECOND_1B[kind] * 1e9 / max(parameters, 10**8))
    refusal = problem or _refusal(request, kind, parameters, memory, limit)
    return LocalPlan(device, parameters, memory, limit, examples, steps, seconds, refusal)
