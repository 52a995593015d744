"""Benchmark: a 1 GB upload through the Uploads API vs one plain ``files.create`` stream.

Run from the project root: ``python benchmarks/bench_upload.py [--mb 1024] [--parallel 4]``.
The fake server (tests/fake_openai.py, content not stored: it only hashes and counts) runs in
its own process on 127.0.0.1; each upload runs in a fresh child process that reports its peak
resident memory (VmHWM). Baseline: ``client.files.create(file=open(path, "rb"))``, the lecture's
call. Ours: ``ftkit.training.files.upload_file`` through the Uploads API (64 MB parts, in
parallel, md5 hashed on a second thread while the parts are sent) and, separately, the transfer
alone (``upload_in_parts``).
Goals: peak memory under 300 MB; throughput at least 70% of the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"

SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fake_openai import FakeOpenAI, KEY
fake = FakeOpenAI(store_content=False)
print(fake.url, flush=True)
while True:
    time.sleep(3600)
"""

CHILD = """
import hashlib, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from ftkit.providers import ProviderSettings, client_from_settings
from ftkit.training.files import upload_file
from ftkit.training.upload_cache import hash_file
from ftkit.training.large_files import upload_in_parts
client = client_from_settings(ProviderSettings(api_key={key!r}, base_url={url!r}), timeout=600)
path = Path({path!r})
mode = {mode!r}
start = time.perf_counter()
if mode == "baseline":
    with open(path, "rb") as handle:
        client.files.create(file=handle, purpose="fine-tune")
elif mode == "transfer":
    md5 = {md5!r}
    upload_in_parts(client, path, md5=md5, parallel={parallel})
else:
    upload_file(client, path, endpoint={url!r}, fresh=True, override=True, wait=False,
                uploads_threshold=0, parallel={parallel}, store=path.parent / "uploads.json")
seconds = time.perf_counter() - start
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print(seconds, int(hwm) / 1024)
"""


def make_file(mb: int) -> Path:
    """Write (once) a JSONL-looking file of ``mb`` megabytes."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"upload_{mb}mb.jsonl"
    if path.is_file() and path.stat().st_size == mb * 2**20:
        return path
    line = b'{"messages":[{"role":"user","content":"' + b"x" * 200 + b'"}]}\n'
    block = line * (2**20 // len(line) + 1)
    with open(path, "wb") as handle:
        for _ in range(mb):
            handle.write(block[: 2**20])
    return path


def run_child(mode: str, url: str, path: Path, md5: str, parallel: int) -> tuple[float, float]:
    """Run one upload in a fresh process; return (seconds, peak MB)."""
    from tests.fake_openai import KEY

    code = CHILD.format(
        root=str(ROOT), key=KEY, url=url, path=str(path), mode=mode, md5=md5, parallel=parallel
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, peak = out.stdout.split()
    return float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; medians reported")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from ftkit.training.upload_cache import hash_file

    path = make_file(args.mb)
    md5 = hash_file(path)[1]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        time.sleep(0.2)
        size = path.stat().st_size / 2**20
        runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "transfer": [], "ftkit": []}
        for _ in range(args.repeat):  # alternate the modes so load spikes hit all of them
            for mode, found in runs.items():
                found.append(run_child(mode, url, path, md5, args.parallel))
        results = {
            mode: (statistics.median(t for t, _ in found), max(m for _, m in found))
            for mode, found in runs.items()
        }
    finally:
        server.terminate()
        server.wait()
    base = size / results["baseline"][0]
    print(
        f"file: {size:.0f} MB, parts of 64 MB, {args.parallel} in parallel; "
        f"median of {args.repeat} runs each"
    )
    for mode, label in (
        ("baseline", "files.create, one stream (baseline)"),
        ("transfer", "Uploads API transfer (upload_in_parts)"),
        ("ftkit", "ftkit upload_file (hashes + Uploads API)"),
    ):
        seconds, peak = results[mode]
        rate = size / seconds
        print(
            f"{label:<44} {seconds:6.2f} s  {rate:7.1f} MB/s  ratio {rate / base:4.2f}  "
            f"peak {peak:6.1f} MB"
        )


if __name__ == "__main__":
    main()
