"""Benchmark: the pre-flight check on a 400,000-example course file vs bare tiktoken.

Run from the project root: ``python benchmarks/bench_check.py [--examples N] [--repeat R]``.
The file is generated into ``benchmarks/.data/`` (gitignored) on first use. The baseline is
tiktoken's ``encode_ordinary_batch(texts, num_threads=2)`` over every message text of the same
file, in batches, with the texts already in memory (its parse is not timed). The check is timed
end to end: read, parse, every rule, token counts, cost. Goal: ratio ≤ 1.25.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "TIKTOKEN_CACHE_DIR" not in os.environ and (ROOT.parent / "shared" / "tiktoken").is_dir():
    os.environ["TIKTOKEN_CACHE_DIR"] = str(ROOT.parent / "shared" / "tiktoken")

import orjson  # noqa: E402
import tiktoken  # noqa: E402

from benchmarks.course_data import generate  # noqa: E402
from ftkit.preflight.scan import check_file  # noqa: E402

THREADS = 2
BASELINE_BATCH = 100_000


def baseline(path: Path, encoding: tiktoken.Encoding) -> tuple[float, int]:
    """Return (seconds, tokens) for bare batch encoding of every message text in ``path``."""
    texts = [
        message["content"]
        for line in path.read_bytes().splitlines()
        for message in orjson.loads(line)["messages"]
    ]
    start = time.perf_counter()
    tokens = 0
    for offset in range(0, len(texts), BASELINE_BATCH):
        batch = texts[offset : offset + BASELINE_BATCH]
        tokens += sum(map(len, encoding.encode_ordinary_batch(batch, num_threads=THREADS)))
    return time.perf_counter() - start, tokens


def ftkit_check(path: Path) -> tuple[float, int, int]:
    """Return (seconds, total tokens, errors) for ``check_file`` on ``path``."""
    start = time.perf_counter()
    report = check_file(path, num_threads=THREADS)
    return time.perf_counter() - start, report.tokens.total, len(report.errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    path = ROOT / "benchmarks" / ".data" / f"course_{args.examples}.jsonl"
    if not path.exists():
        print(f"generating {path} …", flush=True)
        generate(path, examples=args.examples)
    print(f"file: {path.name}, {path.stat().st_size / 1e6:,.0f} MB, {args.examples:,} examples")
    encoding = tiktoken.get_encoding("o200k_base")
    base_times, check_times = [], []
    for _ in range(args.repeat):
        seconds, tokens = baseline(path, encoding)
        base_times.append(seconds)
        print(f"baseline encode_ordinary_batch: {seconds:7.2f} s  ({tokens:,} content tokens)")
        seconds, total, errors = ftkit_check(path)
        check_times.append(seconds)
        print(
            f"ftkit check_file:              {seconds:7.2f} s  ({total:,} tokens, {errors} errors)"
        )
    ratio = min(check_times) / min(base_times)
    print(
        f"best baseline {min(base_times):.2f} s, best ftkit {min(check_times):.2f} s, "
        f"ratio {ratio:.3f} (goal ≤ 1.25)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
