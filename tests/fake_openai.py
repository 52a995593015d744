"""A stateful fake of OpenAI's files, uploads, models and fine-tuning endpoints, over real HTTP.

``FakeOpenAI`` serves on 127.0.0.1 from a ``ThreadingHTTPServer`` in a daemon thread; the SDK
reaches it through ``base_url`` (``fake.url``). Jobs advance one stage each time they are
retrieved: validating_files → queued → running (one metrics event per step, a checkpoint per
epoch) → succeeded, or failed when ``fake.job_outcome = "failed"``; cancel, pause and resume
work. ``fake.closed = True`` answers job creation
with 403 like an organisation whose fine-tuning was wound down.
``fake.inject(method, pattern, kind, times)`` makes the next requests whose path starts with (or
glob-matches) ``pattern`` fail: ``"429"`` (with Retry-After), ``"500"``, ``"timeout"`` (answers
too late), ``"drop"`` (closes the connection before answering), ``"lost"`` (does the work,
then closes the connection: a lost response), ``"badjson"`` (does the work, then answers 200
with a body that is not JSON), ``"wrongtypes"`` (does the work, then answers 200 with every
field of the object turned into a list), ``"empty"`` (answers 200 with ``{}``) or ``"huge"``
(answers 400 with a 10 MB message).

An ``AzureOpenAI`` client reaches the same routes under ``/openai`` (``fake.azure_url``);
``fake.azure_models`` (a list of Azure model objects) replaces the ``/models`` answer.

``fake.echo_key = True`` makes a 401 echo the key it was sent (as a careless server does);
``fake.clock_skew`` (seconds, negative when the server's clock is behind) shifts every
``created_at``; ``fake.allow_content = True`` serves ``GET /files/{id}/content`` (OpenAI refuses
it for fine-tune files, as the fake does by default).

Every request is logged in ``fake.requests`` for assertions. ``store_content=False`` keeps only
sizes and md5s (the benchmark streams gigabytes through it).
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["FakeOpenAI", "Fault", "Request", "shared_fake"]

KEY = "sk-test-fake-key-0123456789abcdef"
BASE_MODELS = {
    "gpt-4o-mini-2024-07-18": "2027-01-14",
    "gpt-4o-2024-08-06": "2027-01-14",
    "gpt-4.1-nano-2025-04-14": "2027-06-30",  # announced by the API, absent from ftkit's table
    "gpt-4.1-mini-2025-04-14": None,  # not announced by the API: the table's date applies
}


@dataclass
class Fault:
    method: str
    prefix: str
    kind: str
    times: int


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class _State:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class FakeOpenAI:
    """The fake API's state, fault plan and server."""

    def __init__(self, *, store_content: bool = True) -> None:
        self.store_content = store_content
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
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def azure_url(self) -> str:
        """The resource endpoint an ``AzureOpenAI`` client takes (it adds ``/openai``)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        """Forget all state and faults; open fine-tuning again."""
        self.state = _State()
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.closed = False
        self.job_outcome = "succeeded"
        self.file_status = "processed"
        self.process_after = 1  # retrieves before an uploaded file is processed
        self.require_key = KEY
        self.timeout_sleep = 1.5
        self.steps = 3  # metric steps before a running job finishes
        self.echo_key = False
        self.clock_skew = 0
        self.allow_content = False
        self.azure_models: list[dict[str, Any]] | None = None  # Azure's /openai/models answer

    def now(self) -> int:
        """Return the server's clock, ``clock_skew`` seconds off ours."""
        return int(time.time()) + self.clock_skew

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, method: str, prefix: str, kind: str, times: int = 1) -> None:
        """Make the next ``times`` requests to ``method prefix*`` fail with ``kind``."""
        self.faults.append(Fault(method, prefix, kind, times))

    def take_fault(self, method: str, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                hit = path.startswith(fault.prefix) or fnmatch.fnmatchcase(path, fault.prefix)
                if fault.method == method and hit and fault.times > 0:
                    fault.times -= 1
                    return fault.kind
        return None

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.ids):04d}"

    def calls(self, method: str, path: str) -> list[Request]:
        """Return the logged requests with this method and exact path."""
        return [r for r in self.requests if r.method == method and r.path == path]

    # ---- files -------------------------------------------------------------------------------

    def add_file(
        self, filename: str, purpose: str, data: bytes | None, size: int, md5: str
    ) -> dict:
        file_id = self.new_id("file")
        obj = {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": self.now(),
            "filename": filename,
            "purpose": purpose,
            "status": "uploaded",
            "status_details": None,
            "_md5": md5,
            "_polls": 0,
        }
        self.state.files[file_id] = obj
        if data is not None and self.store_content:
            self.state.contents[file_id] = data
        return obj

    def poll_file(self, obj: dict) -> None:
        obj["_polls"] += 1
        if obj["status"] == "uploaded" and obj["_polls"] >= self.process_after:
            obj["status"] = self.file_status
            if self.file_status == "error":
                obj["status_details"] = "Invalid file format: line 1 is not a chat example"

    # ---- jobs ----------------------------------------------------------------------------

    def add_event(self, job_id: str, message: str, *, level: str = "info", data=None) -> None:
        event = {
            "id": self.new_id("ftevent"),
            "object": "fine_tuning.job.event",
            "created_at": self.now(),
            "level": level,
            "message": message,
            "type": "metrics" if data else "message",
            "data": data,
        }
        self.state.events[job_id].append(event)

    def advance(self, job: dict) -> None:
        """Move a job one stage on (called on each retrieve)."""
        job_id, status = job["id"], job["status"]
        if status == "validating_files":
            job["status"] = "queued"
            self.add_event(job_id, "Files validated, moving job to queued state")
        elif status == "queued":
            job["status"] = "running"
            job["estimated_finish"] = self.now() + 600
            self.add_event(job_id, "Fine-tuning job started")
        elif status == "running":
            job["_step"] += 1
            step = job["_step"]
            loss = round(2.0 / step, 4)
            data = {
                "step": step,
                "total_steps": self.steps,
                "train_loss": loss,
                "train_mean_token_accuracy": round(0.5 + step / 10, 3),
                "valid_loss": round(loss * 1.1, 4),
                "valid_mean_token_accuracy": round(0.45 + step / 10, 3),
            }
            self.add_event(job_id, f"Step {step}/{self.steps}: training loss={loss}", data=data)
            if self.job_outcome == "failed" and step == 2:
                job["status"], job["finished_at"] = "failed", self.now()
                job["error"] = {
                    "code": "invalid_training_file",
                    "param": "training_file",
                    "message": "The job failed due to an invalid training file.",
                }
                self.add_event(
                    job_id, "The job failed due to an invalid training file.", level="error"
                )
            elif step == self.steps:
                model = f"ft:{job['model']}:ftkit-test:{job['suffix'] or 'model'}:{job_id[-4:]}"
                job.update(
                    status="succeeded",
                    fine_tuned_model=model,
                    finished_at=self.now(),
                    trained_tokens=12345,
                )
                self.state.checkpoints[job_id].append(
                    {
                        "id": self.new_id("ftckpt"),
                        "object": "fine_tuning.job.checkpoint",
                        "created_at": self.now(),
                        "fine_tuning_job_id": job_id,
                        "fine_tuned_model_checkpoint": f"{model}:ckpt-step-{step}",
                        "step_number": step,
                        "metrics": {
                            "step": step,
                            "train_loss": loss,
                            "valid_loss": loss * 1.1,
                            "full_valid_loss": loss * 1.2,
                            "full_valid_mean_token_accuracy": 0.8,
                        },
                    }
                )
                self.add_event(job_id, f"New fine-tuned model created: {model}")
                self.add_event(job_id, "The job has successfully completed")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1"

    def log_message(self, *args: Any) -> None:
        pass

    @property
    def fake(self) -> FakeOpenAI:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    # ---- plumbing ------------------------------------------------------------------------

    def _body_chunks(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk

    def _read_body(self) -> tuple[Any, dict[str, Any]]:
        """Return (json or form fields, file info) from the request body."""
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            return self._read_multipart(ctype.split("boundary=", 1)[1].strip('"'))
        raw = b"".join(self._body_chunks())
        return (json.loads(raw) if raw else None), {}

    def _read_multipart(self, boundary: str) -> tuple[dict[str, str], dict[str, Any]]:
        """Parse form fields and one file, streaming: the file's bytes are hashed, kept if asked."""
        delim = b"\r\n--" + boundary.encode()
        buf = b"\r\n"
        fields: dict[str, str] = {}
        upload: dict[str, Any] = {}
        chunks = self._body_chunks()
        current: dict[str, Any] | None = None
        for chunk in itertools.chain(chunks, [b""]):
            buf += chunk
            while True:
                if current is None:
                    start = buf.find(delim)
                    head_end = buf.find(b"\r\n\r\n", start + len(delim)) if start >= 0 else -1
                    if head_end < 0:
                        break
                    head = buf[start + len(delim) : head_end].decode()
                    buf = buf[head_end + 4 :]
                    name = head.split('name="', 1)[1].split('"', 1)[0]
                    filename = (
                        head.split('filename="', 1)[1].split('"', 1)[0]
                        if 'filename="' in head
                        else None
                    )
                    current = {
                        "name": name,
                        "filename": filename,
                        "md5": hashlib.md5(),
                        "size": 0,
                        "data": [],
                    }
                end = buf.find(delim)
                if end < 0:
                    keep = max(0, len(buf) - len(delim))
                    self._feed(current, buf[:keep])
                    buf = buf[keep:]
                    break
                self._feed(current, buf[:end])
                buf = buf[end:]
                if current["filename"] is None:
                    fields[current["name"]] = b"".join(current["data"]).decode()
                else:
                    upload = current
                current = None
                if buf.startswith(delim + b"--"):
                    return fields, upload
        return fields, upload

    def _feed(self, current: dict[str, Any], data: bytes) -> None:
        current["size"] += len(data)
        current["md5"].update(data)
        if self.fake.store_content or current["filename"] is None:
            current["data"].append(data)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(payload, bytes):
            self._send_raw(status, payload, headers, content_type="application/octet-stream")
        else:
            self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{next(self.fake.ids):06d}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, *, code: str | None = None, param=None) -> None:
        self._send(
            status,
            {
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "param": param,
                    "code": code,
                }
            },
        )

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path.removeprefix("/v1").removeprefix("/openai")  # OpenAI's or Azure's
        query = dict(parse_qsl(split.query))
        fault = self.fake.take_fault(method, path)
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body, upload = self._read_body() if method == "POST" else (None, {})
        self.fake.requests.append(Request(method, path, query, body, dict(self.headers)))
        auth = self.headers.get("Authorization") or ""
        api_key = self.headers.get("api-key") or ""
        if self.fake.require_key and self.fake.require_key not in (
            auth.removeprefix("Bearer "),
            api_key,
        ):
            sent = auth.removeprefix("Bearer ") or api_key
            shown = sent if self.fake.echo_key else "sk-test***cdef"
            self._error(401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")
            return
        if fault == "429":
            self._send(
                429,
                {
                    "error": {
                        "message": "Rate limit reached",
                        "type": "requests",
                        "param": None,
                        "code": "rate_limit_exceeded",
                    }
                },
                {"retry-after-ms": "10"},
            )
            return
        if fault == "500":
            self._error(500, "The server had an error while processing your request.")
            return
        if fault == "huge":
            self._error(400, "x" * 10_000_000, param="y" * 1_000_000)
            return
        if fault == "empty":
            self._send(200, {})
            return
        if fault == "timeout":
            time.sleep(self.fake.timeout_sleep)
        with self.fake.lock:
            status, payload = _route(self.fake, method, path, query, body, upload)
        if fault == "lost":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if status < 400 and fault == "badjson":
            self._send_raw(200, b'{"id": "file-')
        elif status < 400 and fault == "wrongtypes":
            self._send(200, {k: [v] for k, v in payload.items()})
        elif status >= 400:
            self._error(
                status, payload["message"], code=payload.get("code"), param=payload.get("param")
            )
        else:
            self._send(status, payload)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [_public(i) for i in items],
        "has_more": False,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
    }


def _missing(what: str, ident: str) -> tuple[int, dict[str, Any]]:
    return 404, {"message": f"No such {what}: {ident}", "code": "not_found"}


def _route(
    fake: FakeOpenAI,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    upload: dict[str, Any],
) -> tuple[int, Any]:
    state = fake.state
    parts = path.strip("/").split("/")
    if parts == ["files"] and method == "POST":
        if not upload or body.get("purpose") != "fine-tune":
            return 400, {"message": "file and purpose are required", "param": "file"}
        data = b"".join(upload["data"]) if fake.store_content else None
        obj = fake.add_file(
            upload["filename"], body["purpose"], data, upload["size"], upload["md5"].hexdigest()
        )
        return 200, _public(obj)
    if parts == ["files"]:
        items = [
            f for f in state.files.values() if f["purpose"] == query.get("purpose", f["purpose"])
        ]
        items.sort(key=lambda f: f["id"], reverse=query.get("order", "desc") == "desc")
        return 200, _page(items[: int(query.get("limit", 10000))])
    if parts[0] == "files" and len(parts) == 3 and parts[2] == "content":
        if parts[1] not in state.files:
            return _missing("file", parts[1])
        if not fake.allow_content:
            return 400, {"message": "Not allowed to download files of purpose: fine-tune"}
        return 200, state.contents.get(parts[1], b"")
    if parts[0] == "files" and len(parts) == 2:
        obj = state.files.get(parts[1])
        if obj is None:
            return _missing("file", parts[1])
        if method == "DELETE":
            del state.files[parts[1]]
            return 200, {"id": parts[1], "object": "file", "deleted": True}
        fake.poll_file(obj)
        return 200, _public(obj)
    if parts == ["uploads"] and method == "POST":
        if int(body["bytes"]) > 8 * 2**30:
            return 400, {"message": "bytes is over 8 GB", "param": "bytes"}
        upload_id = fake.new_id("upload")
        state.uploads[upload_id] = {
            "id": upload_id,
            "object": "upload",
            "bytes": body["bytes"],
            "created_at": fake.now(),
            "expires_at": fake.now() + 3600,
            "filename": body["filename"],
            "purpose": body["purpose"],
            "status": "pending",
            "file": None,
        }
        return 200, state.uploads[upload_id]
    if parts[0] == "uploads" and len(parts) == 3:
        upl = state.uploads.get(parts[1])
        if upl is None:
            return _missing("upload", parts[1])
        if parts[2] == "parts":
            if upl["status"] != "pending":
                return 400, {"message": f"upload is {upl['status']}", "param": "upload_id"}
            part_id = fake.new_id("part")
            data = b"".join(upload["data"]) if fake.store_content else b""
            state.parts[part_id] = {
                "upload": parts[1],
                "size": upload["size"],
                "data": data,
                "md5": upload["md5"].copy(),
            }
            return 200, {
                "id": part_id,
                "object": "upload.part",
                "upload_id": parts[1],
                "created_at": fake.now(),
            }
        if parts[2] == "cancel":
            if upl["status"] != "pending":
                return 400, {"message": f"upload is {upl['status']}"}
            upl["status"] = "cancelled"
            return 200, upl
        if parts[2] == "complete":
            return _complete(fake, upl, body)
    if parts == ["models"] and fake.azure_models is not None:
        return 200, {"object": "list", "data": fake.azure_models}
    if parts == ["models"]:
        models = [
            {
                "id": name,
                "object": "model",
                "created": 1721172741,
                "owned_by": "system",
                "shutdown_date": date,
            }
            for name, date in BASE_MODELS.items()
        ]
        for job in state.jobs.values():
            if job["fine_tuned_model"]:
                models.append(
                    {
                        "id": job["fine_tuned_model"],
                        "object": "model",
                        "created": job["finished_at"],
                        "owned_by": "user-ftkit",
                    }
                )
        return 200, {"object": "list", "data": models}
    if parts[:2] == ["fine_tuning", "jobs"]:
        return _jobs(fake, method, parts[2:], query, body)
    return 404, {"message": f"unknown route {method} {path}"}


def _complete(fake: FakeOpenAI, upl: dict[str, Any], body: Any) -> tuple[int, Any]:
    state = fake.state
    if upl["status"] != "pending":
        return 400, {"message": f"upload {upl['id']} is already {upl['status']}"}
    ids = body["part_ids"]
    if any(state.parts.get(p, {}).get("upload") != upl["id"] for p in ids):
        return 400, {"message": "unknown part id", "param": "part_ids"}
    size = sum(state.parts[p]["size"] for p in ids)
    if size != int(upl["bytes"]):
        return 400, {
            "message": f"parts hold {size} bytes, expected {upl['bytes']}",
            "param": "part_ids",
        }
    data = b"".join(state.parts[p]["data"] for p in ids) if fake.store_content else None
    md5 = hashlib.md5(data).hexdigest() if data is not None else body.get("md5", "")
    if body.get("md5") and body["md5"] != md5:
        return 400, {"message": "md5 does not match the parts", "param": "md5"}
    obj = fake.add_file(upl["filename"], upl["purpose"], data, size, md5)
    upl["status"], upl["file"] = "completed", _public(obj)
    return 200, upl


def _jobs(
    fake: FakeOpenAI, method: str, rest: list[str], query: dict[str, str], body: Any
) -> tuple[int, Any]:
    state = fake.state
    if not rest and method == "POST":
        if fake.closed:
            return 403, {
                "message": "You do not have access to fine-tuning. Please contact support.",
                "code": "permission_denied",
            }
        for name in ("training_file", "validation_file"):
            file_id = body.get(name)
            if file_id and file_id not in state.files:
                return 400, {"message": f"invalid file id {file_id}", "param": name}
        job_id = fake.new_id("ftjob")
        hyper = body.get("method", {}).get("supervised", {}).get("hyperparameters", {})
        job = {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": fake.now(),
            "error": None,
            "fine_tuned_model": None,
            "finished_at": None,
            "hyperparameters": hyper,
            "model": body["model"],
            "organization_id": "org-fake",
            "result_files": [],
            "seed": body.get("seed", 7),
            "status": "validating_files",
            "trained_tokens": None,
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file"),
            "estimated_finish": None,
            "integrations": body.get("integrations"),
            "metadata": body.get("metadata"),
            "method": body.get("method"),
            "suffix": body.get("suffix"),
            "_step": 0,
        }
        state.jobs[job_id], state.events[job_id], state.checkpoints[job_id] = job, [], []
        fake.add_event(job_id, f"Created fine-tuning job: {job_id}")
        fake.add_event(job_id, f"Validating training file: {body['training_file']}")
        return 200, _strip_job(job)
    if not rest:
        jobs = sorted(state.jobs.values(), key=lambda j: j["id"], reverse=True)
        wanted = {k[9:-1]: v for k, v in query.items() if k.startswith("metadata[")}
        jobs = [
            j for j in jobs if all((j["metadata"] or {}).get(k) == v for k, v in wanted.items())
        ]
        return 200, _page([_strip_job(j) for j in jobs[: int(query.get("limit", 20))]])
    job = state.jobs.get(rest[0])
    if job is None:
        return _missing("job", rest[0])
    action = rest[1] if len(rest) > 1 else None
    if action is None:
        fake.advance(job)
        return 200, _strip_job(job)
    if action == "events":
        events = list(reversed(state.events[job["id"]]))
        return 200, _page(events[: int(query.get("limit", 20))])
    if action == "checkpoints":
        return 200, _page(list(reversed(state.checkpoints[job["id"]])))
    if action in ("cancel", "pause", "resume"):
        allowed = {
            "cancel": ("validating_files", "queued", "running", "paused"),
            "pause": ("running",),
            "resume": ("paused",),
        }[action]
        if job["status"] not in allowed:
            return 400, {
                "message": f"cannot {action} a job that is {job['status']}",
                "param": "fine_tuning_job_id",
            }
        job["status"] = {"cancel": "cancelled", "pause": "paused", "resume": "running"}[action]
        fake.add_event(job["id"], f"Job {job['status']}")
        return 200, _strip_job(job)
    return 404, {"message": f"unknown job route {action}"}


def _strip_job(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_") and k != "suffix"}


_SHARED: FakeOpenAI | None = None


def shared_fake() -> FakeOpenAI:
    """Return the test session's one fake server, started on first use and reset each time."""
    global _SHARED
    if _SHARED is None:
        _SHARED = FakeOpenAI()
    _SHARED.reset()
    return _SHARED
