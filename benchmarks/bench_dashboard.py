"""Benchmark: the dashboard's responsiveness on a 400,000-item course pickle (AppTest).

The case (issue 4): the course pickle is loaded through the Data page's local path box, the
lecture's 500 + 50 are drawn, then the system prompt is edited again and again.

- first load: the Data page run that hashes, unpickles and summarises the file, against a bare
  ``pickle.load`` of the same file with the course's own class (goal: under 2x);
- rerun after an edit: the Compose page run after each system-prompt edit, and the Messages page
  run that shows the edited table (goal: median under 300 ms each).

Times include AppTest's own work (building the element tree), so a browser sees no worse.

    python benchmarks/bench_dashboard.py [--items 400000] [--edits 15] [--repeat 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if (ROOT.parent / "shared" / "tiktoken").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(ROOT.parent / "shared" / "tiktoken"))
os.environ.pop("FTKIT_HOSTED", None)

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks import course  # noqa: E402
from benchmarks.bench_prepare import make_pickle  # noqa: E402


def bare_load(path: Path) -> float:
    """Return the seconds a bare ``pickle.load`` with the course's class takes."""
    course.register()
    try:
        start = time.perf_counter()
        with path.open("rb") as handle:
            items = pickle.load(handle)
        elapsed = time.perf_counter() - start
    finally:
        course.unregister()
    assert len(items) > 0
    del items
    gc.collect()
    return elapsed


def app_first_load(path: Path) -> tuple[float, AppTest]:
    """Return the seconds of the Data page run that loads ``path``, and the app."""
    st.cache_resource.clear()
    st.cache_data.clear()
    gc.collect()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.text_input(key="data_path").input(str(path))
    start = time.perf_counter()
    at.button[0].click().run()
    elapsed = time.perf_counter() - start
    assert not at.exception and not at.error, [e.value for e in at.error]
    return elapsed, at


def timed(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    assert not at.exception and not at.error, [e.value for e in at.error]
    return elapsed


def child(kind: str, source: Path, edits: int) -> dict[str, float | list[float]]:
    """Measure one side in this (fresh) process; return its timings."""
    if kind == "bare":
        return {"load": bare_load(source)}
    load, at = app_first_load(source)
    at.switch_page("app_pages/compose.py")
    compose_first = timed(at)
    compose_runs, messages_runs = [], []
    for edit in range(edits):
        prompt = f"You estimate prices of items, take {edit}."
        at.switch_page("app_pages/compose.py")
        at.run()
        at.text_area(key="compose_system").input(prompt)
        compose_runs.append(timed(at))
        at.switch_page("app_pages/messages.py")
        messages_runs.append(timed(at))
        table = at.dataframe[0].value
        assert len(table) == 550 and set(table["system"]) == {prompt}
    return {
        "load": load,
        "compose_first": compose_first,
        "compose": compose_runs,
        "messages": messages_runs,
    }


def run_child(kind: str, source: Path, edits: int) -> dict[str, float | list[float]]:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--source",
        str(source),
        "--edits",
        str(edits),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed ({kind}):\n{done.stderr[-2000:]}")
    result: dict[str, float | list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=400_000)
    parser.add_argument("--edits", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["bare", "app"], help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.source, args.edits)))
        return
    data_dir = ROOT / "benchmarks" / ".data"
    data_dir.mkdir(exist_ok=True)
    source = data_dir / f"course_train_{args.items}.pkl"
    make_pickle(source, args.items)
    print(f"pickle: {source.stat().st_size / 1e6:,.0f} MB, {args.items:,} items")
    bare: list[float] = []
    apps: list[dict[str, float | list[float]]] = []
    for _ in range(args.repeat):  # each side in its own fresh process, alternately
        bare.append(float(run_child("bare", source, 0)["load"]))  # type: ignore[arg-type]
        apps.append(run_child("app", source, args.edits))
    bare_s = statistics.median(bare)
    first_s = statistics.median(float(a["load"]) for a in apps)  # type: ignore[arg-type]
    print(
        f"bare pickle.load (course class): {bare_s:6.2f} s  (runs: "
        + ", ".join(f"{t:.2f}" for t in bare)
        + ")"
    )
    print(
        f"dashboard first load:            {first_s:6.2f} s  (runs: "
        + ", ".join(f"{float(a['load']):.2f}" for a in apps)
        + ")"
    )  # type: ignore[arg-type]
    print(f"first-load ratio: {first_s / bare_s:.2f}  (goal < 2.00)")
    first_compose = statistics.median(float(a["compose_first"]) for a in apps)  # type: ignore[arg-type]
    print(f"compose, first run (draw 500 + 50, count tokens): {first_compose * 1000:,.0f} ms")
    for page, label in (
        ("compose", "compose rerun after a system-prompt edit"),
        ("messages", "messages table showing the edit (550 rows)"),
    ):
        runs = [t for a in apps for t in a[page]]  # type: ignore[union-attr]
        print(
            f"{label}: median {statistics.median(runs) * 1000:,.0f} ms "
            f"(max {max(runs) * 1000:,.0f}, {len(runs)} runs; goal < 300)"
        )


if __name__ == "__main__":
    main()
