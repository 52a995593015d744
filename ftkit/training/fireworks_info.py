"""What Fireworks says about a job and its models: events from its state, tunable bases, serving.

A Fireworks job has no event list, so ``job_events`` turns the job resource into events the
monitor shows: created, progress (percent and epoch), and the state it is in with Fireworks'
status message. ``tunable_models`` lists the bases Fireworks marks ``tunable``. ``serving_note``
says how a trained LoRA is called: Fireworks serves fine-tuned LoRA models only on an on-demand
(dedicated) deployment, billed by the GPU-hour, never serverless (docs checked 2026-12-06).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftkit.api import calling, shown_text
from ftkit.training.events import EventInfo
from ftkit.training.fireworks_api import FireworksApi, reply_object
from ftkit.training.jobs import JobInfo

__all__ = ["MAX_MODEL_PAGES", "job_events", "serving_note", "tunable_models"]

MAX_MODEL_PAGES = 5
SERVING_CHECKED = "2026-12-06"


def _event(job: JobInfo, key: str, when: int, message: str, **extra: Any) -> EventInfo:
    level = "error" if job["status"] == "failed" and key == "state" else "info"
    return EventInfo(
        id=f"{job['id']}:{key}",
        created_at=when,
        level=level,
        message=message,
        type="message",
        data=dict(extra) or None,
    )


def _progress(raw: Mapping[str, Any]) -> tuple[int, int | None] | None:
    found = raw.get("jobProgress")
    if not isinstance(found, Mapping) or not isinstance(found.get("percent"), int):
        return None
    epoch = found.get("epoch")
    return int(found["percent"]), epoch if isinstance(epoch, int) else None


def job_events(job: JobInfo, raw: Mapping[str, Any]) -> list[EventInfo]:
    """Return the events made from a job's state and progress, newest first."""
    created = job["created_at"]
    events = [_event(job, "created", created, f"Created job {job['id']} on {job['model']}")]
    progress = _progress(raw)
    latest = job["finished_at"] or created
    if progress is not None and job["status"] in ("running", "succeeded"):
        percent, epoch = progress
        where = f", epoch {epoch}" if epoch is not None else ""
        events.append(
            _event(
                job,
                "progress",
                latest,
                f"Training {percent}% done{where}",
                percent=percent,
                epoch=epoch,
            )
        )
    state = str(raw.get("state", "")).removeprefix("JOB_STATE_")
    status = raw.get("status")
    said = status.get("message") if isinstance(status, Mapping) else None
    line = f"Job state {state}"
    if job["fine_tuned_model"]:
        line += f": model {job['fine_tuned_model']}"
    if said:
        line += f" ({shown_text(str(said))})"
    events.append(_event(job, "state", latest, line, state=state))
    return events[::-1]


def tunable_models(api: FireworksApi) -> list[str]:
    """Return the names of the models in Fireworks' library marked ``tunable``."""
    names: list[str] = []
    params: dict[str, Any] = {"filter": "tunable=true", "pageSize": 200}
    url = api.url("models", account="fireworks")
    for _ in range(MAX_MODEL_PAGES):
        reply = reply_object(
            api.call("GET", url, action="list models", params=params), "list models"
        )
        with calling("Fireworks list models"):
            models = reply.get("models") or []
            if not isinstance(models, list):
                raise ValueError("models is not a list")
            names += [
                str(model["name"])
                for model in models
                if isinstance(model, dict) and model.get("name") and model.get("tunable", True)
            ]
        token = reply.get("nextPageToken")
        if not token:
            break
        params["pageToken"] = token
    return names


def serving_note(model: str) -> str:
    """Return how the trained model is called: deploy it first, then Evaluate calls its name."""
    if not model:
        return "Not trained yet: once the job succeeds, its LoRA model is deployed to be called."
    return (
        f"Fireworks serves fine-tuned LoRA models only on an on-demand deployment, not "
        f"serverless (checked {SERVING_CHECKED}). Deploy it with `firectl deployment create "
        f'"{model}"` (live merge; or POST /v1/accounts/<account>/deployments with baseModel '
        f"{model}), wait until it is READY, then Evaluate calls {model} at "
        f"https://api.fireworks.ai/inference/v1. A deployment bills by the GPU-hour while it "
        f"exists: delete it (`firectl deployment delete <deployment id>`) when you are done."
    )
