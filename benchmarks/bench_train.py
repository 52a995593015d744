"""Benchmark: ftkit's local backend vs a bare TRL script training the same LoRA.

Run from the project root: ``python benchmarks/bench_train.py [--repeat 3] [--steps 60]``.
Both sides run as child processes on the same data (the built-in sample, written with ftkit's
JSONL writer), model, settings and steps, interleaved; the wall time of each is taken from spawn
to exit, so ftkit's side includes its plan, its background process and its polling.
Ours: ``python -m ftkit finetune --backend local --wait``. Baseline: ``SFTTrainer`` + LoRA in one
short script, with the same logging, checkpoint and loss settings.
Without ``--model`` the model is the tests' tiny Llama (tests/tiny_llama.py), on the CPU; with
``--model ID`` (a Hub id or folder, meant for a CUDA machine) it also prints tokens per second
and the peak GPU memory (from ``nvidia-smi``).
Goal: ours / baseline at most 1.05.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data" / "train"
sys.path.insert(0, str(ROOT))

BASELINE = """
import json, sys
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer
import torch
model_name, train_file, out, steps, batch = sys.argv[1:6]
steps, batch = int(steps), int(batch)
rows = []
for line in open(train_file):
    messages = json.loads(line)["messages"]
    rows.append({"prompt": messages[:-1], "completion": messages[-1:]})
cuda = torch.cuda.is_available()
bf16 = cuda and torch.cuda.is_bf16_supported()
dtype = (torch.bfloat16 if bf16 else torch.float16) if cuda else torch.float32
tokenizer = AutoTokenizer.from_pretrained(model_name)
model = AutoModelForCausalLM.from_pretrained(model_name, dtype=dtype)
config = SFTConfig(
    output_dir=out, max_steps=steps, per_device_train_batch_size=batch, learning_rate=2e-4,
    logging_steps=max(1, min(10, steps // 20)), save_steps=max(10, steps // 10),
    save_total_limit=2, eval_strategy="no", completion_only_loss=True, report_to=[], seed=42,
    bf16=bf16, fp16=cuda and not bf16, disable_tqdm=True,
)
lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                     processing_class=tokenizer, peft_config=lora)
trainer.train()
trainer.model.save_pretrained(out + "/adapter")
tokenizer.save_pretrained(out + "/adapter")
tokens = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e]
print(json.dumps({"tokens": tokens[-1] if tokens else None}))
"""


def write_data(count: int) -> Path:
    """Write ``count`` training examples of the built-in sample; return the file."""
    from ftkit.dataset.jsonl import write_jsonl
    from ftkit.dataset.messages import render_messages
    from ftkit.sources.load import load_items

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / "train.jsonl"
    items = load_items("sample").items[:count]
    write_jsonl(path, [{"messages": render_messages(item)} for item in items])
    return path


def tiny_model() -> str:
    """Build the tests' tiny Llama in the benchmark's data folder; return its path."""
    from tests.tiny_llama import build_tiny_llama

    folder = DATA / "tiny-llama"
    if not (folder / "config.json").exists():
        build_tiny_llama(folder)
    return str(folder)


class GpuPeak:
    """Poll ``nvidia-smi`` while a run goes; ``peak`` is the most memory used, in MiB."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        query = ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"]
        while not self._stop.is_set():
            try:
                used = subprocess.run(query, capture_output=True, text=True, check=True).stdout
                self.peak = max(self.peak, max(int(x) for x in used.split()))
            except (OSError, ValueError, subprocess.CalledProcessError):
                return
            self._stop.wait(0.5)

    def __enter__(self) -> GpuPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_side(side: str, model: str, data: Path, steps: int, batch: int) -> dict[str, float]:
    """Train once on ``side`` ("ours" or "baseline") in a child; return seconds and tokens."""
    out = DATA / f"run-{side}"
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    if side == "ours":
        command = [
            sys.executable, "-m", "ftkit", "finetune", "--backend", "local",
            "--training-file", str(data), "--base-model", model, "--max-steps", str(steps),
            "--batch-size", str(batch), "--learning-rate", "2e-4", "--out", str(out),
            "--wait", "--interval", "0.2", "--json",
        ]  # fmt: skip
    else:
        out.mkdir(parents=True)
        command = [sys.executable, "-c", BASELINE, model, str(data), str(out)]
        command += [str(steps), str(batch)]
    with GpuPeak() as gpu:
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{side} failed:\n{done.stderr[-3000:]}")
    if side == "ours":
        tokens = json.loads((out / "status.json").read_text()).get("trained_tokens")
    else:
        tokens = json.loads(done.stdout.strip().splitlines()[-1])["tokens"]
    return {"seconds": seconds, "tokens": float(tokens or 0), "gpu_mib": float(gpu.peak)}


def main() -> None:
    """Run both sides ``--repeat`` times, interleaved; print the medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--model", help="a Hub id or model folder (default: a tiny Llama, CPU)")
    args = parser.parse_args()
    if not args.model:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data = write_data(args.examples)
    model = args.model or tiny_model()
    results: dict[str, list[dict[str, float]]] = {"baseline": [], "ours": []}
    for round_ in range(args.repeat):
        for side in ("baseline", "ours") if round_ % 2 == 0 else ("ours", "baseline"):
            result = run_side(side, model, data, args.steps, args.batch_size)
            results[side].append(result)
            print(f"round {round_ + 1} {side:8}: {result['seconds']:.1f} s", file=sys.stderr)
    median = {side: statistics.median(r["seconds"] for r in runs) for side, runs in results.items()}
    print(f"model: {model}; {args.steps} steps of batch {args.batch_size}; repeat {args.repeat}")
    for side in ("baseline", "ours"):
        line = f"{side:8}: median {median[side]:.1f} s"
        if args.model:
            tokens = statistics.median(r["tokens"] / r["seconds"] for r in results[side])
            peak = max(r["gpu_mib"] for r in results[side])
            line += f", {tokens:,.0f} tokens/s, peak GPU memory {peak:,.0f} MiB"
        print(line)
    print(f"ratio ours/baseline: {median['ours'] / median['baseline']:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
