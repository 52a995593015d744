"""A local run's folder: the files the trainer and its training process share, written safely.

One writer per file: the parent writes ``request.json`` and ``process.json`` (the child's pid and
start token), the child writes ``status.json`` (atomically: a temporary file, then
``os.replace``) and appends ``events.jsonl`` (one JSON object per line; a torn last line is
ignored when reading). ``cancel`` is a flag file the child checks at every step. The readers
here turn those files into job data: whether the process lives, the error, the stored request.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from ftkit.training.jobs import JobError
from ftkit.training.trainer import TrainRequest

__all__ = [
    "CANCEL_FILE",
    "EVENTS_FILE",
    "LOG_FILE",
    "PROCESS_FILE",
    "REQUEST_FILE",
    "STATUS_FILE",
    "append_event",
    "as_int",
    "checkpoint_metrics",
    "estimated_finish",
    "is_alive",
    "is_starting",
    "process_token",
    "read_events",
    "read_json",
    "status_error",
    "stored_request",
    "write_json",
]

STARTING = 30.0  # seconds a queued run may go without a process while it is being started
_METRIC_NAMES = {"loss": "train_loss", "eval_loss": "valid_loss"}
REQUEST_FILE = "request.json"
STATUS_FILE = "status.json"
PROCESS_FILE = "process.json"
EVENTS_FILE = "events.jsonl"
LOG_FILE = "train.log"
CANCEL_FILE = "cancel"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file beside it, then ``os.replace``)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_json(path: Path) -> dict[str, Any] | None:
    """Return the JSON object in ``path``, or None when it is missing or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def append_event(
    folder: Path, message: str, *, type: str = "message", data: dict[str, Any] | None = None
) -> None:
    """Append one event (a JSON line) to the run's ``events.jsonl``."""
    event = {"created_at": int(time.time()), "level": "info", "message": message, "type": type}
    event["data"] = data
    line = json.dumps(event, allow_nan=False) + "\n"
    with open(folder / EVENTS_FILE, "a", encoding="utf-8") as handle:
        handle.write(line)


def read_events(folder: Path) -> list[dict[str, Any]]:
    """Return the run's events, oldest first; lines that are not whole JSON objects are skipped."""
    try:
        text = (folder / EVENTS_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("message"), str):
            events.append(event)
    return events


def as_int(value: Any) -> int | None:
    """Return ``value`` when it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def process_token(pid: int) -> str | None:
    """Return a token naming process ``pid`` uniquely across pid reuse and reboots, if known.

    On Linux it is the boot id and the process's start time (``/proc``); elsewhere None, and
    only ``os.kill(pid, 0)`` tells whether the process is there.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return f"{boot}:{fields[19]}"


def is_alive(folder: Path) -> bool:
    """Return whether the run's training process is still there (not a reused pid)."""
    process = read_json(folder / PROCESS_FILE) or {}
    pid = process.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    token = process.get("token")
    return token is None or process_token(pid) == token


def is_starting(folder: Path, status: dict[str, Any]) -> bool:
    """Return whether the run was queued a moment ago and its process is being started."""
    updated = status.get("updated_at")
    recent = isinstance(updated, int | float) and time.time() - updated < STARTING
    return status.get("status") == "queued" and recent and not (folder / PROCESS_FILE).exists()


def estimated_finish(status: dict[str, Any]) -> int | None:
    """Return when a running job should finish, from the steps done since it (re)started."""
    step, total = as_int(status.get("step")), as_int(status.get("max_steps"))
    first, began = as_int(status.get("session_step")), status.get("session_started")
    if None in (step, total, first) or not isinstance(began, float | int):
        return None
    assert step is not None and total is not None and first is not None
    elapsed = time.time() - began
    if step <= first or elapsed <= 0:
        return None
    return int(time.time() + (total - step) * elapsed / (step - first))


def status_error(status: dict[str, Any]) -> JobError | None:
    error = status.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return None
    return JobError(code=str(error.get("code") or ""), message=error["message"], param=None)


def stored_request(data: dict[str, Any]) -> TrainRequest:
    """Return the TrainRequest stored in request.json (ftkit's defaults where it is damaged)."""
    stored = data.get("request")
    if not isinstance(stored, dict):
        stored = {}
    known = {f.name for f in fields(TrainRequest)}
    try:
        return TrainRequest(**{k: v for k, v in stored.items() if k in known})
    except TypeError:
        return TrainRequest(training_file="")


def checkpoint_metrics(state: dict[str, Any], step: int) -> dict[str, float]:
    """Return the train and validation loss logged at ``step`` in a checkpoint's trainer_state."""
    found: dict[str, float] = {}
    history = state.get("log_history")
    for entry in history if isinstance(history, list) else []:
        if isinstance(entry, dict) and entry.get("step") == step:
            for key, name in _METRIC_NAMES.items():
                if isinstance(entry.get(key), int | float):
                    found[name] = float(entry[key])
    return found
