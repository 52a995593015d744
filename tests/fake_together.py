"""A stateful fake of Together AI's files and fine-tuning endpoints, over real HTTP.

``FakeTogether`` serves on 127.0.0.1 from a ``ThreadingHTTPServer`` in a daemon thread; the
``together`` SDK reaches it through ``base_url`` (``fake.url``). It replays the documented
shapes (the SDK's types): an upload is ``POST /v1/files`` answered 302 with the upload URL and
``X-Together-File-Id``, a ``PUT`` of the bytes, then ``POST /v1/files/{id}/preprocess``; the
file is validated after ``process_after`` retrieves (``file_outcome = "invalid"`` fails it
with a validation report). A job advances one stage per retrieve: pending -> queued ->
running (one metric record per step) -> completed with ``model_output_name``, or error when
``job_outcome = "error"``; cancel works.

``fake.inject(method, path, kind, times)`` makes the next requests to that path fail: ``"429"``
(with ``retry-after-ms``), ``"500"``, or ``"lost"`` (does the work, then closes the
connection: a lost response). Every request is logged in ``fake.requests``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["KEY", "FakeTogether", "Request"]

KEY = "tgp-test-fake-key-0123456789abcdef"
LIMITS = {
    "model_name": "",
    "default_gradient_accumulation_steps": 1,
    "lora_training": {
        "default_rank": 8,
        "max_batch_size": 64,
        "max_batch_size_dpo": 32,
        "max_rank": 64,
        "min_batch_size": 8,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
    },
    "full_training": {"max_batch_size": 32, "max_batch_size_dpo": 16, "min_batch_size": 8},
    "max_learning_rate": 1.0,
    "max_num_checkpoints": 10,
    "max_num_epochs": 20,
    "max_num_evals": 100,
    "max_seq_length_dpo": 8192,
    "max_seq_length_sft": 8192,
    "merge_output_lora": False,
    "min_learning_rate": 0.0,
    "min_max_seq_length": 512,
    "supports_full_training": True,
    "supports_lora_training": True,
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class _Fault:
    method: str
    path: str
    kind: str
    times: int


@dataclass
class _State:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    metrics: dict[str, list[dict[str, float]]] = field(default_factory=dict)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


class FakeTogether:
    """The fake API's state, fault plan and server."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.reset()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        """Forget all state and faults."""
        self.state = _State()
        self.faults: list[_Fault] = []
        self.requests: list[Request] = []
        self.file_outcome = "valid"
        self.job_outcome = "completed"
        self.process_after = 1
        self.steps = 3

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, method: str, path: str, kind: str, times: int = 1) -> None:
        """Make the next ``times`` requests ``method path`` (exactly) fail as ``kind``."""
        self.faults.append(_Fault(method, path, kind, times))

    def take_fault(self, method: str, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and path == fault.path and fault.times > 0:
                    fault.times -= 1
                    return fault.kind
        return None

    def bodies(self, method: str, path: str) -> list[Any]:
        """Return the bodies of the logged requests ``method path``."""
        return [r.body for r in self.requests if r.method == method and r.path == path]

    # --- files -------------------------------------------------------------------------

    def new_file(self, name: str) -> tuple[str, str]:
        file_id = f"file-{next(self.ids):08d}"
        self.state.files[file_id] = {
            "id": file_id,
            "bytes": 0,
            "created_at": int(time.time()),
            "filename": name,
            "FileType": "jsonl",
            "object": "file",
            "purpose": "fine-tune",
            "processing_status": "PENDING",
            "_retrieves": 0,
        }
        return file_id, f"{self.url}/upload/{file_id}"

    def file(self, file_id: str) -> dict[str, Any]:
        record = self.state.files[file_id]
        record["_retrieves"] += 1
        if record["processing_status"] == "PENDING" and record["_retrieves"] > self.process_after:
            valid = self.file_outcome == "valid"
            record["processing_status"] = "COMPLETED" if valid else "INVALID_FORMAT"
            record["validation_report"] = {
                "valid": valid,
                "file_id": file_id,
                "nlines": self.state.contents.get(file_id, b"").count(b"\n"),
                "dataset_format": "CONVERSATION",
            }
            if not valid:
                record["validation_report"] |= {
                    "error": "Line 2: messages must alternate between user and assistant",
                    "error_type": "INVALID_FORMAT",
                }
        return _public(record)

    # --- jobs --------------------------------------------------------------------------

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        job_id = f"ft-{next(self.ids):08d}-fake"
        now = time.time()
        kind = body.get("training_type") or {}
        job = {
            "id": job_id,
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "status": "pending",
            "user_id": "user-fake",
            "owner_address": "student@example.com",
            "model": body["model"],
            "model_output_name": None,
            "adapter_output_name": None,
            "n_epochs": body.get("n_epochs"),
            "n_evals": body.get("n_evals"),
            "batch_size": 16 if body.get("batch_size") == "max" else body.get("batch_size"),
            "learning_rate": body.get("learning_rate"),
            "suffix": body.get("suffix"),
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file") or None,
            "random_seed": body.get("random_seed"),
            "training_type": kind,
            "training_method": {"method": "sft", "train_on_inputs": "auto"},
            "token_count": None,
            "events": [],
            "_step": 0,
        }
        self.state.jobs[job_id] = job
        self.state.events[job_id] = []
        self.state.metrics[job_id] = []
        self.event(job_id, "JOB_PENDING", "Fine tune request created")
        return _public(job)

    def event(
        self, job_id: str, kind: str, message: str, level: str = "info", **extra: Any
    ) -> None:
        self.state.events[job_id].append(
            {
                "object": "fine-tune-event",
                "created_at": _iso(time.time()),
                "level": level,
                "message": message,
                "type": kind,
                **extra,
            }
        )

    def advance(self, job_id: str) -> dict[str, Any]:
        job = self.state.jobs[job_id]
        status = job["status"]
        if status == "pending":
            job["status"] = "queued"
        elif status == "queued":
            job["status"] = "running"
            job["token_count"] = 12_345
            self.event(job_id, "TRAINING_START", "Training started")
        elif status == "running" and job["_step"] < self.steps:
            job["_step"] += 1
            step = job["_step"]
            record = {"train/global_step": float(step), "train/loss": 2.0 / step}
            if job["validation_file"]:
                record["eval/loss"] = 2.5 / step
            self.state.metrics[job_id].append(record)
            self.event(job_id, "CHECKPOINT_SAVE", f"Checkpoint saved at step {step}", step=step)
        elif status == "running":
            self.finish(job)
        job["updated_at"] = _iso(time.time())
        return _public(job)

    def finish(self, job: dict[str, Any]) -> None:
        if self.job_outcome == "error":
            job["status"] = "error"
            self.event(job["id"], "JOB_ERROR", "Training failed: CUDA out of memory", "error")
            return
        job["status"] = "completed"
        name = f"student/{job['model'].split('/')[-1]}-{job['suffix']}-a1b2c3"
        job["model_output_name"] = name
        job["adapter_output_name"] = f"{name}-adapter"
        self.event(job["id"], "JOB_COMPLETE", "Job finished")

    def cancel(self, job_id: str) -> dict[str, Any]:
        job = self.state.jobs[job_id]
        job["status"] = "cancelled"
        self.event(job_id, "CANCEL_REQUESTED", "Cancel requested")
        return _public(job)

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        job = self.state.jobs[job_id]
        return [
            {
                "checkpoint_type": f"Intermediate checkpoint at step {step}",
                "created_at": job["created_at"],
                "path": f"s3://fake/{job_id}/checkpoint-{step}",
                "step": step,
                "checkpoint": "adapter",
            }
            for step in range(1, job["_step"] + 1)
        ]

    def estimate(self, body: dict[str, Any]) -> dict[str, Any]:
        epochs = body.get("n_epochs") or 1
        return {
            "estimation_available": True,
            "allowed_to_proceed": True,
            "estimated_total_price": 0.42 * epochs,
            "estimated_train_token_count": 84_000.0 * epochs,
            "estimated_eval_token_count": 9_000.0 if body.get("validation_file") else 0.0,
            "user_limit": 100.0,
        }


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def fake(self) -> FakeTogether:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        self.handle_request("GET")

    def do_POST(self) -> None:
        self.handle_request("POST")

    def do_PUT(self) -> None:
        self.handle_request("PUT")

    def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def handle_request(self, method: str) -> None:
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body: Any = raw
        if "json" in (self.headers.get("Content-Type") or ""):
            body = json.loads(raw or b"null")
        fake = self.fake
        request = Request(
            method, parts.path, dict(parse_qsl(parts.query)), body, dict(self.headers)
        )
        fake.requests.append(request)
        if parts.path.startswith("/v1/") and self.headers.get("Authorization") != f"Bearer {KEY}":
            self.reply(401, {"error": {"message": "Invalid API key provided", "type": "auth"}})
            return
        fault = fake.take_fault(method, parts.path)
        if fault == "429":
            self.reply(429, {"error": {"message": "rate limited"}}, {"retry-after-ms": "10"})
            return
        if fault == "500":
            self.reply(500, {"error": {"message": "internal error"}})
            return
        with fake.lock:
            status, answer, headers = self.route(method, parts.path, body)
        if fault == "lost":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.reply(status, answer, headers)

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        fake = self.fake
        state = fake.state
        segments = path.strip("/").split("/")
        if method == "POST" and path == "/v1/files":
            file_id, upload = fake.new_file(_form_value(body, "file_name") or "upload.jsonl")
            return 302, {}, {"Location": upload, "X-Together-File-Id": file_id}
        if method == "PUT" and segments[0] == "upload":
            state.contents[segments[1]] = body
            state.files[segments[1]]["bytes"] = len(body)
            return 200, {}, {}
        if method == "POST" and segments[:2] == ["v1", "files"] and segments[-1] == "preprocess":
            return 200, _public(state.files[segments[2]]), {}
        if method == "GET" and segments[:2] == ["v1", "files"] and len(segments) == 3:
            if segments[2] not in state.files:
                return 404, {"error": {"message": f"file {segments[2]} not found"}}, {}
            return 200, fake.file(segments[2]), {}
        if segments[:2] == ["v1", "fine-tunes"]:
            return self.route_jobs(method, segments[2:], body)
        return 404, {"error": {"message": f"no route {method} {path}"}}, {}

    def route_jobs(
        self, method: str, rest: list[str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        fake = self.fake
        state = fake.state
        if method == "GET" and rest == ["models", "limits"]:
            return 200, LIMITS, {}
        if method == "POST" and rest == ["estimate-price"]:
            return 200, fake.estimate(body), {}
        if method == "POST" and not rest:
            if body.get("model") == "no/such-model":
                return 400, {"error": {"message": "model no/such-model is not available"}}, {}
            return 200, fake.create_job(body), {}
        if method == "GET" and not rest:
            return 200, {"data": [_public(job) for job in state.jobs.values()]}, {}
        if not rest or rest[0] not in state.jobs:
            return 404, {"error": {"message": "fine-tune job not found"}}, {}
        job_id, tail = rest[0], rest[1:]
        if method == "GET" and not tail:
            return 200, fake.advance(job_id), {}
        if method == "POST" and tail == ["cancel"]:
            return 200, fake.cancel(job_id), {}
        if method == "GET" and tail == ["events"]:
            return 200, {"data": state.events[job_id]}, {}
        if method == "GET" and tail == ["metrics"]:
            return 200, {"metrics": state.metrics[job_id]}, {}
        if method == "GET" and tail == ["checkpoints"]:
            return 200, {"data": fake.checkpoints(job_id)}, {}
        return 404, {"error": {"message": "no such route"}}, {}


def _form_value(body: Any, name: str) -> str | None:
    """Return a multipart form field's value from a raw body (enough for the upload's name)."""
    if not isinstance(body, bytes):
        return None
    marker = f'name="{name}"'.encode()
    at = body.find(marker)
    if at < 0:
        return None
    start = body.find(b"\r\n\r\n", at) + 4
    return body[start : body.find(b"\r\n", start)].decode()
