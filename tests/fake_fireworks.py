"""A stateful fake of Fireworks AI's datasets, models and supervised fine-tuning jobs, over HTTP.

``FakeFireworks`` serves on 127.0.0.1 from a ``ThreadingHTTPServer`` in a daemon thread and
replays the documented shapes (Gateway REST API, ``/v1/accounts/{account_id}/...``): datasets
are created with a chosen ``datasetId`` (409 when it exists), filled by ``:upload`` (multipart)
or by a signed-URL PUT plus ``:validateUpload``, and become READY on the next GET, carry an error
status when ``fake.dataset_outcome = "invalid"``, or stay UPLOADING when it is ``"stuck"``.
Jobs are created with a chosen ``supervisedFineTuningJobId`` (409 when it exists) and
advance one state each time they are read: CREATING → PENDING → RUNNING (50 %) → COMPLETED
with ``outputModel``, or FAILED when ``fake.job_outcome = "failed"``; ``:cancel`` and
``:resume`` work.

``fake.inject(method, prefix, kind, times)`` makes the next requests whose path starts with
``prefix`` fail: ``"429"`` (Retry-After: 0), ``"500"``, ``"drop"`` (closes the connection before
acting) or ``"lost"`` (acts, then closes the connection: a lost response). ``fake.echo_key``
makes a 400 echo the key it was sent. Every request is logged in ``fake.requests``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ACCOUNT", "KEY", "FakeFireworks", "Request"]

KEY = "fw-test-fake-key-0123456789abcdef"
ACCOUNT = "student-acct"
CREATED = "2026-12-06T03:00:00Z"
DONE = "2026-12-06T04:00:00Z"
STATES = ("JOB_STATE_CREATING", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_COMPLETED")
MODELS = [
    {"name": "accounts/fireworks/models/llama-v3p1-8b-instruct", "tunable": True},
    {"name": "accounts/fireworks/models/qwen2p5-7b-instruct", "tunable": True},
    {"name": "accounts/fireworks/models/flux-1-dev", "tunable": False},
]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    method: str
    prefix: str
    kind: str
    times: int


@dataclass
class FakeFireworks:
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    dataset_outcome: str = "ready"
    job_outcome: str = "completed"
    echo_key: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                fake.handle(self, method)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, method: str, prefix: str, kind: str, times: int = 1) -> None:
        self.faults.append(Fault(method, prefix, kind, times))

    def job_creates(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("Jobs")]

    # -- the HTTP edge -------------------------------------------------------------------

    def _fault(self, method: str, path: str) -> str | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and path.startswith(fault.prefix):
                fault.times -= 1
                return fault.kind
        return None

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(
            method,
            parts.path,
            dict(parse_qsl(parts.query)),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self.lock:
            self.requests.append(request)
            kind = self._fault(method, parts.path)
            if kind == "drop":
                handler.close_connection = True
                return
            if kind in ("429", "500"):
                self._reply(handler, int(kind), {"error": {"message": f"injected {kind}"}})
                return
            status, reply = self.route(request)
        if kind == "lost":
            handler.close_connection = True
            return
        self._reply(handler, status, reply)

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, reply: Any) -> None:
        data = json.dumps(reply).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        if status == 429:
            handler.send_header("Retry-After", "0")
        handler.end_headers()
        handler.wfile.write(data)

    # -- the API -------------------------------------------------------------------------

    def route(self, request: Request) -> tuple[int, Any]:
        if request.path.startswith("/signed/"):
            return self.signed_put(request)
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return 401, {"error": {"message": "invalid API key"}}
        prefix = f"/v1/accounts/{ACCOUNT}/"
        if request.path == "/v1/accounts/fireworks/models":
            return 200, {"models": MODELS, "nextPageToken": ""}
        if not request.path.startswith(prefix):
            return 404, {"error": {"message": f"no route {request.path}"}}
        rest = request.path[len(prefix) :]
        if rest.startswith("datasets"):
            return self.dataset_route(request, rest)
        if rest.startswith("supervisedFineTuningJobs"):
            return self.job_route(request, rest)
        return 404, {"error": {"message": f"no route {request.path}"}}

    def dataset_route(self, request: Request, rest: str) -> tuple[int, Any]:
        if rest == "datasets" and request.method == "POST":
            payload = request.json()
            dataset_id = payload["datasetId"]
            if dataset_id in self.datasets:
                return 409, {"code": 6, "message": f"dataset {dataset_id} already exists"}
            dataset = {
                "name": f"accounts/{ACCOUNT}/datasets/{dataset_id}",
                "state": "UPLOADING",
                "createTime": CREATED,
                **payload["dataset"],
            }
            self.datasets[dataset_id] = dataset
            return 200, dataset
        dataset_id, _, verb = rest.removeprefix("datasets/").partition(":")
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            return 404, {"error": {"message": f"dataset {dataset_id} not found"}}
        if verb == "upload":
            self.contents[dataset_id] = self._multipart(request)
            self._settle(dataset)
            return 200, {
                "id": dataset_id,
                "object": "file",
                "bytes": len(self.contents[dataset_id]),
            }
        if verb == "getUploadEndpoint":
            sizes = request.json()["filenameToSize"]
            return 200, {
                "filenameToSignedUrls": {n: f"{self.url}/signed/{dataset_id}/{n}" for n in sizes}
            }
        if verb == "validateUpload":
            self._settle(dataset)
            return 200, {}
        return 200, dataset

    def _settle(self, dataset: dict[str, Any]) -> None:
        if self.dataset_outcome == "stuck":
            return
        if self.dataset_outcome == "invalid":
            dataset["status"] = {
                "code": "INVALID_ARGUMENT",
                "message": "line 2: messages is missing",
            }
        else:
            dataset["state"] = "READY"

    def signed_put(self, request: Request) -> tuple[int, Any]:
        if request.method != "PUT" or "authorization" in request.headers:
            return 403, {"error": {"message": "signed URLs take a PUT without credentials"}}
        dataset_id = request.path.split("/")[2]
        self.contents[dataset_id] = request.body
        return 200, {}

    def _multipart(self, request: Request) -> bytes:
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + request.body)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                return bytes(part.get_payload(decode=True))
        raise AssertionError("no file part")

    def job_route(self, request: Request, rest: str) -> tuple[int, Any]:
        if rest == "supervisedFineTuningJobs":
            if request.method == "GET":
                jobs = sorted(self.jobs.values(), key=lambda job: job["name"], reverse=True)
                return 200, {"supervisedFineTuningJobs": jobs, "nextPageToken": ""}
            return self.create_job(request)
        job_id, _, verb = rest.removeprefix("supervisedFineTuningJobs/").partition(":")
        job = self.jobs.get(job_id)
        if job is None:
            return 404, {"error": {"message": f"job {job_id} not found"}}
        if verb == "cancel":
            job["state"] = "JOB_STATE_CANCELLED"
        elif verb == "resume":
            job["state"] = "JOB_STATE_RUNNING"
        elif request.method == "GET":
            self._advance(job)
        return 200, job

    def create_job(self, request: Request) -> tuple[int, Any]:
        payload = request.json()
        job_id = request.query.get("supervisedFineTuningJobId", f"job{len(self.jobs)}")
        if self.echo_key:
            return 400, {"error": {"message": f"bad request from key {KEY}"}}
        if job_id in self.jobs:
            return 409, {"code": 6, "message": f"job {job_id} already exists"}
        dataset_id = payload["dataset"].rsplit("/", 1)[-1]
        if self.datasets.get(dataset_id, {}).get("state") != "READY":
            return 400, {"error": {"message": f"dataset {dataset_id} is not READY"}}
        job = {
            **payload,
            "name": f"accounts/{ACCOUNT}/supervisedFineTuningJobs/{job_id}",
            "state": STATES[0],
            "createTime": CREATED,
            "status": {"code": "OK", "message": ""},
        }
        self.jobs[job_id] = job
        return 200, job

    def _advance(self, job: dict[str, Any]) -> None:
        if job["state"] not in STATES[:-1]:
            return
        step = STATES.index(job["state"]) + 1
        job["state"] = STATES[step]
        if job["state"] == "JOB_STATE_RUNNING":
            job["jobProgress"] = {"percent": 50, "epoch": 1}
        if job["state"] == "JOB_STATE_COMPLETED":
            job["jobProgress"] = {"percent": 100, "epoch": job.get("epochs", 1)}
            job["completedTime"] = DONE
            if self.job_outcome == "failed":
                job["state"] = "JOB_STATE_FAILED"
                job["status"] = {"code": "INTERNAL", "message": "training diverged"}
            else:
                job["outputModel"] = f"accounts/{ACCOUNT}/models/{job['name'].rsplit('/', 1)[-1]}"
