"""Benchmark: evaluation throughput against a local chat server that answers after 200 ms.

Run from the project root: ``python benchmarks/bench_evaluate.py [--items 250] [--workers 5]``.
The server (``ThreadingHTTPServer`` on 127.0.0.1) sleeps ``--latency`` seconds per request and
answers "123.45". The baseline is the ideal: ``workers ÷ latency`` requests per second, i.e.
``items × latency ÷ workers`` seconds. ftkit is timed end to end: the OpenAI SDK client, the
lecture's messages, parsing, scoring and the worker pool. Goal: ratio ≥ 0.90 of the ideal.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ftkit.evaluation.chat import ChatPredictor  # noqa: E402
from ftkit.evaluation.run import evaluate  # noqa: E402
from ftkit.providers import ProviderSettings, client_from_settings  # noqa: E402
from ftkit.sources.load import load_items  # noqa: E402


def start_server(latency: float) -> ThreadingHTTPServer:
    """Start a chat-completions server that answers every request after ``latency`` seconds."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as real servers do; else delayed ACKs add ~40 ms

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency)
            body = json.dumps(
                {
                    "id": "bench",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "bench",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "123.45"},
                        }
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 3, "total_tokens": 103},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=250)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()

    items = load_items("sample", split="all").items[: args.items]
    server = start_server(args.latency)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    client = client_from_settings(ProviderSettings(api_key="bench", base_url=url))
    predictor = ChatPredictor(client=client, model="gpt-4o-mini")
    predictor(items[0])  # warm up: connection pool, SDK imports

    start = time.perf_counter()
    run = evaluate(items, predictor, model="gpt-4o-mini", workers=args.workers)
    seconds = time.perf_counter() - start
    server.shutdown()

    ideal = len(items) * args.latency / args.workers
    ratio = ideal / seconds
    print(
        f"items {len(run.rows)} scored, {run.failed} failed; workers {args.workers}, "
        f"latency {args.latency * 1000:.0f} ms"
    )
    print(f"ideal (workers ÷ latency): {ideal:.2f} s  ({args.workers / args.latency:.1f} req/s)")
    print(f"ftkit evaluate:            {seconds:.2f} s  ({len(items) / seconds:.1f} req/s)")
    print(f"ratio of ideal throughput: {ratio:.3f}  (goal ≥ 0.90)")


if __name__ == "__main__":
    main()
