"""``python -m ftkit finetune --backend local``: train a LoRA adapter on this computer.

The plan (device, size, memory, steps, time) goes to stderr first; a refused plan is one line
and nothing starts. The run trains in the background in its own folder (``--out`` or
``.ftkit/local-runs/<time>-<suffix>``); ``--wait`` follows it, ``--resume`` continues or follows
the run in ``--out``. A new run is recorded in the history like an OpenAI job (``start_job``),
and ``--wait`` records how it ended.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from ftkit.cli import quiet_recorder
from ftkit.errors import FtkitError
from ftkit.history.recorder import Recorder
from ftkit.history.recording import current_user
from ftkit.training.backends import LOCAL_RUNS
from ftkit.training.events import EventInfo
from ftkit.training.jobs import JobInfo
from ftkit.training.launch import record_finished, start_job
from ftkit.training.local import LocalTrainer, find_run
from ftkit.training.local_plan import plan_run
from ftkit.training.monitor import follow_job
from ftkit.training.trainer import TrainRequest, summary

__all__ = ["LOCAL_INTERVAL", "format_run", "local_root", "run_local"]

LOCAL_INTERVAL = 2.0
OPENAI_INTERVAL = 15.0  # finetune's --interval default, meant for OpenAI's servers
MAX_WAIT = 7 * 24 * 3600.0  # a long local run is followed for up to a week


def local_root() -> Path:
    """Return the folder that holds local runs: ``.ftkit/local-runs`` in the current folder."""
    return Path.cwd() / LOCAL_RUNS


def _request(args: argparse.Namespace) -> TrainRequest:
    if not args.training_file:
        raise FtkitError("--training-file: required for a new run (the chat JSONL to train on)")
    if not args.base_model:
        raise FtkitError(
            "--base-model: required with --backend local (a Hugging Face Hub id such as "
            "Qwen/Qwen2.5-0.5B-Instruct, or a model folder)"
        )
    return TrainRequest(
        training_file=args.training_file,
        validation_file=args.validation_file,
        base_model=args.base_model,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        lora_r=args.lora_r,
        lora_alpha=args.lora_alpha,
        qlora=args.qlora,
        seed=args.seed,
        suffix=args.suffix or None,
        out=args.out,
        merge=args.merge,
    )


def format_run(job: JobInfo) -> str:
    """Return the run's folder, status, base model and (once done) the model to evaluate."""
    lines = [f"run:    {job['id']}", f"status: {job['status']}", f"base model: {job['model']}"]
    if job["fine_tuned_model"]:
        lines.append(f"fine-tuned model: {job['fine_tuned_model']}")
    if job["error"]:
        lines.append(f"error: {job['error']['message']}")
    return "\n".join(lines)


def _start(
    trainer: LocalTrainer, args: argparse.Namespace, record: Recorder | None
) -> tuple[JobInfo, int | None]:
    """Plan, record and start a new run, or with ``--resume`` continue (or rejoin) --out's run.

    Returns the job and its history run id (None for a resumed run or without history).
    """
    if args.resume:
        if not args.out:
            raise FtkitError("--resume: give the run's folder with --out DIR")
        folder = str(find_run(str(Path(args.out).expanduser().resolve())))
        job = trainer.retrieve(folder)
        return (trainer.resume(folder) if job["status"] in ("cancelled", "failed") else job), None
    request = _request(args)
    plan = plan_run(request)
    for line in plan.lines():
        print(f"ftkit: {line}", file=sys.stderr)
    if plan.refusal:
        raise FtkitError(plan.refusal)
    started = start_job(trainer, request, record=record)
    return started.job, started.run_id


def _show_event(job: JobInfo, event: EventInfo) -> None:
    """Print one event of the followed run to stderr, with the run's status."""
    print(f"[{job['status']}] {event['message']}", file=sys.stderr)


def run_local(args: argparse.Namespace) -> int:
    """Start (or resume) a local run; return 0 when it succeeded or started, else 1."""
    trainer = LocalTrainer(local_root())
    record = None if args.no_history else quiet_recorder(current_user())
    job, run_id = _start(trainer, args, record)
    print(f"ftkit: run folder {job['id']}", file=sys.stderr)
    if args.wait:
        interval = args.interval if args.interval not in (None, OPENAI_INTERVAL) else LOCAL_INTERVAL
        try:
            job, _ = follow_job(
                trainer, job["id"], interval=interval, on_event=_show_event, timeout=MAX_WAIT
            )
        except KeyboardInterrupt:
            print(
                f"ftkit: stopped watching; the run keeps going in the background in {job['id']} "
                f"(follow it with --resume --out {job['id']} --wait, or on the Train page)",
                file=sys.stderr,
            )
            return 1
    metrics = trainer.metrics(job["id"])
    if run_id is not None:
        record_finished(job, metrics=metrics, record=record, run_id=run_id)
    if args.json:
        data = summary("local", job, metrics, out=job["id"])
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(format_run(job))
    failed = job["status"] in ("failed", "cancelled") or (
        args.wait and job["status"] != "succeeded"
    )
    return 1 if failed else 0
