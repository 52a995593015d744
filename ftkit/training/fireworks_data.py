"""Fireworks datasets: check ftkit's JSONL, create the dataset once, upload it, wait for READY.

The dataset id comes from the file's content (``ftkit-`` + a SHA-256 prefix), so a retry, or
the same file uploaded again, finds the dataset instead of making another. Files up to 150 MB
go through ``:upload``; larger ones through a signed URL (``:getUploadEndpoint``, a PUT without
the Fireworks key, then ``:validateUpload``). A dataset Fireworks rejects fails with its status
message in one line.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftkit.api import shown_text
from ftkit.dataset.jsonl import read_jsonl
from ftkit.errors import ExportCheckError, UploadError, WaitTimeoutError
from ftkit.exports.check import check_split
from ftkit.training.fireworks_api import FireworksApi, reply_object

__all__ = ["DATASET_WAIT", "UPLOAD_LIMIT", "check_file", "dataset_id_for", "upload_dataset"]

UPLOAD_LIMIT = 150 * 1024 * 1024  # bytes :upload takes; above it, the signed-URL flow
DATASET_WAIT = 600.0  # seconds to wait for READY
POLL_EVERY = 2.0
READY = "READY"


def dataset_id_for(data: bytes) -> str:
    """Return the dataset id for a file's bytes: the same content always gets the same id."""
    return "ftkit-" + hashlib.sha256(data).hexdigest()[:24]


def check_file(path: str | Path) -> tuple[bytes, int]:
    """Return the bytes and example count; ``ExportCheckError`` if Fireworks refuses it."""
    rows = read_jsonl(path)
    support = check_split("fireworks", rows)
    if not support["ok"]:
        reasons = [f"{Path(path).name}: {reason}" for reason in support["reasons"]]
        raise ExportCheckError("fireworks", support["trainer"], reasons)
    return Path(path).read_bytes(), len(rows)


def _failure(dataset: Mapping[str, Any]) -> str | None:
    """Return the dataset's status message when Fireworks reports a problem, else None."""
    status = dataset.get("status")
    if not isinstance(status, Mapping):
        return None
    code = status.get("code")
    if code in (None, "", "OK", 0):
        return None
    return str(status.get("message") or code)


def _ensure(api: FireworksApi, dataset_id: str, name: str, count: int) -> dict[str, Any]:
    """Create the dataset, or fetch it when it already exists; return it."""
    body = {
        "datasetId": dataset_id,
        "dataset": {
            "displayName": name[:60],
            "exampleCount": str(count),
            "userUploaded": {},
            "format": "CHAT",
        },
    }
    url = api.url("datasets")
    made = api.call("POST", url, action="create dataset", json=body, exists_ok=True)
    if made is not None:
        return reply_object(made, "create dataset")
    found = api.call("GET", api.url(f"datasets/{dataset_id}"), action="get dataset")
    return reply_object(found, "get dataset")


def _send(api: FireworksApi, dataset_id: str, name: str, data: bytes, limit: int) -> None:
    """Upload the bytes: in one request when small, else through a signed URL."""
    base = api.url(f"datasets/{dataset_id}")
    if len(data) <= limit:
        files = {"file": (name, data, "application/jsonl")}
        api.call("POST", f"{base}:upload", action="upload dataset", files=files)
        return
    sizes = {"filenameToSize": {name: str(len(data))}}
    reply = api.call("POST", f"{base}:getUploadEndpoint", action="get upload URL", json=sizes)
    urls = reply.get("filenameToSignedUrls") if isinstance(reply, Mapping) else None
    url = urls.get(name) if isinstance(urls, Mapping) else None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise UploadError(f"Fireworks gave no upload URL for {name}")
    headers = {
        "Content-Type": "application/octet-stream",
        "x-goog-content-length-range": f"{len(data)},{len(data)}",
    }
    api.call("PUT", url, action="upload dataset", signed=True, content=data, headers=headers)
    api.call("POST", f"{base}:validateUpload", action="validate dataset", json={})


def _wait(api: FireworksApi, dataset_id: str, timeout: float) -> None:
    """Poll the dataset until READY; one line with its status message if Fireworks rejects it."""
    for poll in range(math.ceil(timeout / POLL_EVERY) + 1):
        if poll:
            api.sleep(POLL_EVERY)
        reply = api.call("GET", api.url(f"datasets/{dataset_id}"), action="get dataset")
        dataset = reply_object(reply, "get dataset")
        problem = _failure(dataset)
        if problem:
            raise UploadError(
                api.line(f"Fireworks rejected dataset {dataset_id}: {shown_text(problem)}")
            )
        if dataset.get("state") == READY:
            return
    raise WaitTimeoutError(
        f"Fireworks dataset {dataset_id} was not READY after {timeout:.0f} s; "
        "upload the file again later to pick it up"
    )


def upload_dataset(
    api: FireworksApi, path: str | Path, *, limit: int = UPLOAD_LIMIT, wait: float = DATASET_WAIT
) -> str:
    """Check ``path``, upload it as a Fireworks dataset (once) and return the dataset id."""
    data, count = check_file(path)
    dataset_id = dataset_id_for(data)
    name = Path(path).name
    dataset = _ensure(api, dataset_id, name, count)
    if dataset.get("state") != READY or _failure(dataset):
        _send(api, dataset_id, name, data, limit)
    _wait(api, dataset_id, wait)
    return dataset_id
