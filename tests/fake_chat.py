"""A fake Chat Completions server on 127.0.0.1 for tests: scripted answers, errors and drops.

``reply(body, attempt)`` decides each response from the request body and how many times this
same user message has been asked (1 on the first request). It returns one of:

    ("answer", "123.45")                      a 200 completion whose content is the text
    ("status", 429, {"Retry-After": "0.01"})   an error status with headers (and a message)
    ("drop",)                                  close the connection without a response
    ("raw", 200, b"{not json", "application/json")  exactly these bytes, status and type

``OPENAI_MAX_TOKENS_400`` and ``PREFILL_400`` are how endpoints word the 400 that refuses
``max_tokens`` (OpenAI's reasoning models) or an assistant prefill; ``strict_endpoint`` builds
a reply that refuses either, as a real endpoint would, for every request.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Action = tuple[Any, ...]
Reply = Callable[[dict[str, Any], int], Action]

OPENAI_MAX_TOKENS_400 = (
    "Unsupported parameter: 'max_tokens' is not supported with this model. "
    "Use 'max_completion_tokens' instead."
)
PREFILL_400 = "Expected last role User or Tool (or Assistant with prefix True) but got assistant"


def strict_endpoint(answer: str, *, max_tokens: bool = True, prefill: bool = True) -> Reply:
    """Return a reply that refuses ``max_tokens`` and a prefill unless they are allowed."""

    def reply(body: dict[str, Any], attempt: int) -> Action:
        if not max_tokens and "max_tokens" in body:
            return ("status", 400, {}, OPENAI_MAX_TOKENS_400)
        if not prefill and body["messages"][-1]["role"] == "assistant":
            return ("status", 400, {}, PREFILL_400)
        return ("answer", answer)

    return reply


def user_text(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 3, "total_tokens": 103},
    }


class FakeChat:
    """The server's record: every request body and Authorization header, counts per message."""

    def __init__(self, reply: Reply, delay: float = 0.0) -> None:
        self.reply = reply
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.attempts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.url = ""

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", 0))
        body = json.loads(handler.rfile.read(length))
        with self.lock:
            self.requests.append(body)
            self.authorizations.append(handler.headers.get("Authorization"))
            key = user_text(body)
            self.attempts[key] += 1
            attempt = self.attempts[key]
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            action = self.reply(body, attempt)
        finally:
            with self.lock:
                self.in_flight -= 1
        if action[0] == "drop":
            handler.close_connection = True
            return
        if action[0] == "raw":
            self.send(handler, action[1], action[2], {"Content-Type": action[3]})
            return
        if action[0] == "answer":
            status, headers, payload = 200, {}, completion(action[1], body["model"])
        else:
            status, headers = action[1], action[2] if len(action) > 2 else {}
            message = action[3] if len(action) > 3 else f"fake error {status}"
            payload = {"error": {"message": message, "type": "test"}}
        self.send(handler, status, json.dumps(payload).encode(), headers)

    @staticmethod
    def send(
        handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        if "Content-Type" not in headers:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


@contextmanager
def serve(reply: Reply, delay: float = 0.0) -> Iterator[FakeChat]:
    """Run a fake server in a thread; yield its record with ``url`` set to the /v1 base URL."""
    fake = FakeChat(reply, delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            fake.handle(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
