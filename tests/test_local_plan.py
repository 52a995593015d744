"""Before a local run starts, the plan says what it needs and refuses what cannot work here.

These tests look at the device (which imports torch) but never train.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from ftkit.cli import main
from ftkit.dataset.jsonl import write_jsonl
from ftkit.dataset.messages import render_messages
from ftkit.sources.load import load_items
from ftkit.training.local_plan import missing_packages, plan_run
from ftkit.training.trainer import TrainRequest

pytestmark = pytest.mark.xdist_group("torch")

LLAMA_7B = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
}


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    """Write 100 examples of the built-in sample with ftkit's writer."""
    path = tmp_path / "train.jsonl"
    items = load_items("sample").items[:100]
    write_jsonl(path, [{"messages": render_messages(item)} for item in items])
    return path


@pytest.fixture
def big_model(tmp_path: Path) -> Path:
    """Return a folder holding only a 7B Llama's config.json."""
    folder = tmp_path / "llama-7b"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(LLAMA_7B))
    return folder


def _cpu_only() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (requirements-train.txt)")
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has a GPU")


@pytest.mark.parametrize(
    ("missing", "says"),
    [
        ("trl", "local training needs trl: pip install -r requirements-train.txt"),
        ("torch", "install the torch build for this machine first (see docs/training.md)"),
    ],
    ids=["trl", "torch"],
)
def test_missing_packages_are_named_with_the_install_line(
    monkeypatch: pytest.MonkeyPatch, missing: str, says: str
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)
    line = missing_packages()
    assert line is not None and says in line


@pytest.mark.parametrize(
    ("epochs", "batch", "max_steps", "steps"),
    [(1, 8, None, 13), (3, 8, None, 39), (2, "auto", None, 26), (3, 4, 7, 7)],
    ids=["one-epoch", "three-epochs", "auto-batch", "max-steps"],
)
def test_the_plan_counts_examples_and_steps(
    train_file: Path, tiny_llama: Path, epochs: int, batch: int, max_steps: int, steps: int
) -> None:
    request = TrainRequest(
        str(train_file), base_model=str(tiny_llama), epochs=epochs, batch_size=batch,
        max_steps=max_steps,
    )  # fmt: skip
    plan = plan_run(request)
    assert (plan.examples, plan.steps, plan.refusal) == (100, steps, None)
    assert f"examples: 100; steps: {steps}" in plan.lines()


def test_the_plan_counts_the_models_parameters_and_says_estimates_are_estimates(
    train_file: Path, tiny_llama: Path
) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    plan = plan_run(TrainRequest(str(train_file), base_model=str(tiny_llama)))
    assert plan.parameters == sum(p.numel() for p in model.parameters())
    lines = "\n".join(plan.lines())
    assert "(an estimate)" in lines
    assert "(a rough guess)" in lines


def test_qlora_without_cuda_is_refused(train_file: Path, tiny_llama: Path) -> None:
    _cpu_only()
    plan = plan_run(TrainRequest(str(train_file), base_model=str(tiny_llama), qlora=True))
    assert plan.refusal == "QLoRA (4-bit) needs a CUDA GPU; train without --qlora here"
    assert plan.lines()[-1] == f"refused: {plan.refusal}"


def test_a_7b_model_on_a_cpu_is_refused(train_file: Path, big_model: Path) -> None:
    _cpu_only()
    plan = plan_run(TrainRequest(str(train_file), base_model=str(big_model)))
    assert plan.parameters is not None and math.isclose(plan.parameters, 6.74e9, rel_tol=0.01)
    assert plan.refusal is not None
    assert plan.refusal.startswith("a 6.7B-parameter model is too big to train on a CPU")


@pytest.mark.parametrize(
    ("base_model", "refusal"),
    [
        ("", "base model: required (a Hugging Face Hub id or a model folder)"),
        ("./no-such-model", "base model ./no-such-model: no such folder"),
        ("org/not-cached", "base model org/not-cached: not in the Hugging Face cache"),
    ],
    ids=["empty", "missing-folder", "offline-not-cached"],
)
def test_a_base_model_that_cannot_be_found_is_refused_with_its_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, train_file: Path, base_model: str, refusal: str
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    plan = plan_run(TrainRequest(str(train_file), base_model=base_model))
    assert plan.refusal is not None and plan.refusal.startswith(refusal)


def test_a_missing_training_file_is_refused(tmp_path: Path, tiny_llama: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    plan = plan_run(TrainRequest(str(missing), base_model=str(tiny_llama)))
    assert plan.refusal is not None and plan.refusal.startswith(f"{missing}: cannot read")


def test_finetune_local_prints_the_plan_and_refuses_in_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    train_file: Path,
    big_model: Path,
) -> None:
    _cpu_only()
    monkeypatch.chdir(tmp_path)
    argv = ["finetune", "--backend", "local", "--training-file", str(train_file)]
    code = main([*argv, "--base-model", str(big_model)])
    err = capsys.readouterr().err
    assert code == 2
    assert "ftkit: device: no GPU: CPU only, slow" in err
    assert err.splitlines()[-1].startswith("ftkit: error: a 6.7B-parameter model is too big")
    assert "Traceback" not in err
    assert not (tmp_path / ".ftkit").exists()


def test_finetune_local_needs_a_base_model(
    capsys: pytest.CaptureFixture[str], train_file: Path
) -> None:
    code = main(["finetune", "--backend", "local", "--training-file", str(train_file)])
    assert code == 2
    assert capsys.readouterr().err.startswith("ftkit: error: --base-model: required")
