"""A local run's folder: the files the trainer and its training process share, written safely.

One writer per file: the parent writes ``request.json`` and ``process.json`` (the child's pid and
start token), the child writes ``status.json`` (atomically: a temporary file, then
``os.replace``) and appends ``events.jsonl`` (one JSON object per line; a torn last line is
ignored when reading). ``cancel`` is a flag file the child checks at every step.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = [
    "CANCEL_FILE",
    "EVENTS_FILE",
    "LOG_FILE",
    "PROCESS_FILE",
    "REQUEST_FILE",
    "STATUS_FILE",
    "append_event",
    "process_token",
    "read_events",
    "read_json",
    "write_json",
]

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
