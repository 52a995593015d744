"""The training process of a local run: ``python -m ftkit.training.local_worker FOLDER [--resume]``.

It reads ``request.json``, trains a LoRA (or QLoRA) adapter with TRL's ``SFTTrainer`` on the
assistant's answers only, appends metric events and checks the cancel flag at every step, and
saves the adapter (and optionally the merged model). Whatever goes wrong ends as status "failed"
with one line; the traceback goes to ``train.log`` (its stderr) only.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Any

from ftkit.errors import FtkitError
from ftkit.training.local_plan import (
    base_model_problem,
    resolve_settings,
    select_device,
)
from ftkit.training.local_run import (
    CANCEL_FILE,
    REQUEST_FILE,
    STATUS_FILE,
    append_event,
    read_json,
    write_json,
)
from ftkit.training.trainer import TrainRequest

__all__ = ["load_conversations", "main", "one_line"]

MAX_ERROR = 300


class Cancelled(Exception):
    """The run was cancelled (the flag file appeared)."""


def one_line(err: BaseException) -> str:
    """Return the error as one line of at most 300 characters, without its type name."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def _example(path: str, number: int, line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError:
        raise FtkitError(f"{path}: line {number} is not JSON") from None
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or len(messages) < 2:
        raise FtkitError(f"{path}: line {number} has no 'messages' list of two or more")
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "assistant":
        raise FtkitError(f"{path}: line {number}: the last message is not the assistant's")
    return {"prompt": messages[:-1], "completion": [last]}


def load_conversations(path: str) -> list[dict[str, Any]]:
    """Return the chat JSONL's examples in TRL's prompt-completion form; raise naming a bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise FtkitError(f"{path}: cannot read ({one_line(err)})") from None
    rows = [
        _example(path, number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not rows:
        raise FtkitError(f"{path}: no examples")
    return rows


class _Status:
    """The run's ``status.json``, written atomically by this process only."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATUS_FILE
        self.data: dict[str, Any] = read_json(self.path) or {}

    def update(self, **values: Any) -> None:
        self.data.update(values, updated_at=int(time.time()))
        write_json(self.path, self.data)


def _callback(folder: Path, status: _Status) -> Any:
    """Return a ``TrainerCallback`` that records metrics and checkpoints and checks for cancel."""
    from transformers import TrainerCallback

    names = {
        "loss": "train_loss",
        "eval_loss": "valid_loss",
        "mean_token_accuracy": "train_mean_token_accuracy",
        "eval_mean_token_accuracy": "valid_mean_token_accuracy",
    }

    class Watch(TrainerCallback):  # type: ignore[misc]
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if (folder / CANCEL_FILE).exists():
                raise Cancelled
            step = state.global_step
            status.update(step=step, max_steps=state.max_steps, session_step=step)
            status.update(session_started=time.time())

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            status.update(step=state.global_step)
            if (folder / CANCEL_FILE).exists():
                control.should_training_stop = True
                control.should_save = False
                raise Cancelled

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            data: dict[str, Any] = {"step": state.global_step}
            for key, name in names.items():
                if isinstance((logs or {}).get(key), int | float):
                    data[name] = float(logs[key])
            if isinstance((logs or {}).get("num_tokens"), int | float):
                status.update(trained_tokens=int(logs["num_tokens"]))
            if len(data) > 1:
                shown = ", ".join(f"{k} {v:.4f}" for k, v in data.items() if k != "step")
                message = f"Step {state.global_step}/{state.max_steps}: {shown}"
                append_event(folder, message, type="metrics", data=data)

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            name = f"checkpoint-{state.global_step}"
            append_event(folder, f"Checkpoint saved: {name}", data={"step": state.global_step})

    return Watch()


def _load_model(request: TrainRequest, device: str) -> tuple[Any, Any]:
    """Load the base model and tokenizer (4-bit when QLoRA); raise one line naming the model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    problem = base_model_problem(request.base_model)
    if problem:
        raise FtkitError(problem)
    kwargs: dict[str, Any] = {"trust_remote_code": False, "dtype": torch.float32}
    if device == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        kwargs["dtype"] = torch.bfloat16 if bf16 else torch.float16
    if request.qlora:
        kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=kwargs["dtype"]
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(request.base_model, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(request.base_model, **kwargs)
    except (OSError, ValueError) as err:
        raise FtkitError(f"base model {request.base_model}: {one_line(err)}") from None
    if request.qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)  # type: ignore[no-untyped-call]
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _config(
    folder: Path, request: TrainRequest, steps: int, device: str, *, has_validation: bool
) -> Any:
    """Return the ``SFTConfig``: log 20 times, save and evaluate 10 times, loss on answers."""
    from trl import SFTConfig

    epochs, batch, rate = resolve_settings(request)
    log_steps = max(1, min(10, steps // 20))
    save_steps = max(10, steps // 10)
    return SFTConfig(
        output_dir=str(folder),
        num_train_epochs=epochs,
        max_steps=request.max_steps or -1,
        per_device_train_batch_size=batch,
        per_device_eval_batch_size=batch,
        learning_rate=rate,
        logging_steps=log_steps,
        save_steps=save_steps,
        save_total_limit=2,
        eval_strategy="steps" if has_validation else "no",
        eval_steps=save_steps if has_validation else None,
        completion_only_loss=True,
        report_to=[],
        seed=request.seed if request.seed is not None else 42,
        bf16=device == "cuda" and _bf16(),
        fp16=device == "cuda" and not _bf16(),
        disable_tqdm=True,
    )


def _trainer(
    folder: Path, request: TrainRequest, status: _Status, data: tuple[list[Any], list[Any] | None]
) -> Any:
    """Build the ``SFTTrainer`` for the request and its examples (training, validation)."""
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTTrainer

    train, valid = data
    device = select_device()
    epochs, batch, _ = resolve_settings(request)
    model, tokenizer = _load_model(request, device)
    steps = request.max_steps or -(-len(train) // batch) * epochs
    shown = f"{len(train)} examples" + (f", {len(valid)} for validation" if valid else "")
    append_event(folder, f"Plan: {steps} steps of batch {batch} on {device} ({shown})")
    config = _config(folder, request, steps, device, has_validation=bool(valid))
    lora = LoraConfig(
        r=request.lora_r,
        lora_alpha=request.lora_alpha,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(valid) if valid else None,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[_callback(folder, status)],
    )


def _bf16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def _finish(folder: Path, request: TrainRequest, trainer: Any) -> None:
    """Save the adapter with its tokenizer (and the merged model when asked)."""
    adapter = folder / "adapter"
    trainer.model.save_pretrained(adapter)
    trainer.processing_class.save_pretrained(adapter)
    append_event(folder, f"Adapter saved: {adapter}")
    if request.merge:
        merged = folder / "merged"
        if request.qlora:
            model = _merged_qlora(request, adapter)
        else:
            model = trainer.model.merge_and_unload()
        model.save_pretrained(merged)
        trainer.processing_class.save_pretrained(merged)
        append_event(folder, f"Merged model saved: {merged}")


def _merged_qlora(request: TrainRequest, adapter: Path) -> Any:
    """Return the adapter merged into the base model reloaded at 16 bits, on the CPU.

    Merging into the 4-bit model it trained on would round the merged weights to 4 bits.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if _bf16() else torch.float16
    base = AutoModelForCausalLM.from_pretrained(
        request.base_model, dtype=dtype, trust_remote_code=False
    )
    return PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()


def _read_request(folder: Path) -> TrainRequest:
    data = (read_json(folder / REQUEST_FILE) or {}).get("request")
    if not isinstance(data, dict):
        raise FtkitError(f"{folder / REQUEST_FILE}: missing or not a run request")
    known = {f.name for f in fields(TrainRequest)}
    return TrainRequest(**{k: v for k, v in data.items() if k in known})


def train(folder: Path, *, resume: bool) -> None:
    """Run the training the folder asks for, recording status and events; never raise."""
    status = _Status(folder)
    status.update(status="running", pid=os.getpid(), error=None, started_at=int(time.time()))
    append_event(folder, "Resuming from the last checkpoint" if resume else "Training started")
    try:
        request = _read_request(folder)
        train = load_conversations(request.training_file)
        valid = load_conversations(request.validation_file) if request.validation_file else None
        trainer = _trainer(folder, request, status, (train, valid))
        trainer.train(resume_from_checkpoint=True if resume else None)
        _finish(folder, request, trainer)
    except Cancelled:  # each ending's event is written before the status that readers wait on
        append_event(folder, "Training cancelled")
        status.update(status="cancelled", finished_at=int(time.time()))
        return
    except BaseException as err:  # every failure ends as one line
        traceback.print_exc()
        message = one_line(err)
        error = {"code": type(err).__name__, "message": message, "param": None}
        append_event(folder, f"Training failed: {message}")
        status.update(status="failed", error=error, finished_at=int(time.time()))
        return
    append_event(folder, "Training finished")
    status.update(status="succeeded", finished_at=int(time.time()))


def main(argv: list[str] | None = None) -> int:
    """Train the run in ``argv[0]``; ``--resume`` continues from its last checkpoint."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m ftkit.training.local_worker FOLDER [--resume]", file=sys.stderr)
        return 2
    train(Path(args[0]), resume="--resume" in args[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
