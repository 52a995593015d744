"""``finetune --backend``: each backend's own flags, one refusal line each, one summary shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ftkit.history as history
from ftkit.cli import main
from ftkit.history import list_runs
from tests.fake_openai import KEY, FakeOpenAI, shared_fake
from tests.test_files_upload import write_examples


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeOpenAI:
    server = shared_fake()
    monkeypatch.chdir(tmp_path)
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    write_examples(tmp_path / "train.jsonl")
    yield server
    history.close_all()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["finetune", "--training-file", "train.jsonl", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and KEY not in out + err
    return code, out, err


REFUSED = [
    (["--max-steps", "20"], "--max-steps is only for --backend local; set --epochs"),
    (["--backend", "openai", "--lora-r", "8"], "--lora-r is only for --backend local"),
    (["--backend", "azure", "--qlora"], "--qlora is only for --backend local"),
    (["--backend", "openai", "--out", "runs/a"], "--out is only for --backend local"),
    (["--learning-rate", "2e-4"], "--learning-rate is only for --backend local; use --learning-r"),
    (["--base-model", "gpt2"], "--base-model is only for --backend local; use --model"),
    (["--resume"], "--resume is only for --backend local; resume a paused OpenAI job with"),
    (
        ["--backend", "local", "--wandb-project", "p"],
        "--wandb-project is only for the OpenAI backends, not --backend local",
    ),
    (
        ["--backend", "local", "--model", "gpt-4o-mini-2024-07-18"],
        "--model is only for the OpenAI backends, not --backend local; use --base-model",
    ),
    (["--backend", "local", "--run-id", "r1"], "--run-id is only for the OpenAI backends"),
    (["--backend", "local", "--metadata", "a=b"], "--metadata is only for the OpenAI backends"),
    (
        ["--backend", "local", "--learning-rate-multiplier", "2"],
        "--learning-rate-multiplier is only for the OpenAI backends, not --backend local; use "
        "--learning-rate",
    ),
    (["--backend", "local", "--base-url", "http://x"], "--base-url is only for the OpenAI"),
]


@pytest.mark.parametrize(
    ("argv", "line"),
    REFUSED,
    ids=[
        "max-steps",
        "lora-r",
        "qlora-azure",
        "out",
        "learning-rate",
        "base-model",
        "resume",
        "wandb-local",
        "model-local",
        "run-id-local",
        "metadata-local",
        "multiplier-local",
        "base-url-local",
    ],
)
def test_a_flag_the_backend_does_not_take_is_one_line_and_nothing_is_sent(
    fake, capsys, argv, line
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"ftkit: error: {line}") and err.count("\n") == 1
    assert fake.calls("POST", "/files") == fake.calls("POST", "/fine_tuning/jobs") == []


@pytest.mark.parametrize(
    ("backend", "line"),
    [
        ("azure", "--backend azure needs an Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT"),
        ("compatible", None),
        ("openai", None),
    ],
    ids=["azure-without-endpoint", "compatible-with-base-url", "openai-with-base-url"],
)
def test_a_backend_must_fit_the_endpoint(fake, capsys, backend, line) -> None:
    code, _, err = run(capsys, "--backend", backend)
    if line is None:
        assert code == 0 and len(fake.state.jobs) == 1
    else:
        assert code == 2 and err == f"ftkit: error: {line} or --azure-endpoint\n"
        assert not fake.state.jobs


def test_compatible_needs_a_base_url(fake, capsys, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL")
    code, _, err = run(capsys, "--backend", "compatible")
    assert code == 2
    assert err == (
        "ftkit: error: --backend compatible needs an endpoint: set OPENAI_BASE_URL or --base-url\n"
    )


def test_backend_openai_json_prints_the_summary_of_the_finished_job(fake, capsys) -> None:
    code, out, _ = run(capsys, "--backend", "openai", "--wait", "--interval", "0", "--json")
    shown = json.loads(out)
    assert code == 0
    assert set(shown) == {"backend", "status", "model", "job_id", "base_model", "metrics", "out"}
    assert (shown["backend"], shown["status"], shown["out"]) == ("openai", "succeeded", None)
    assert shown["model"].startswith("ft:gpt-4o-mini-2024-07-18:")
    assert shown["model"] == fake.state.jobs[shown["job_id"]]["fine_tuned_model"]
    assert shown["base_model"] == "gpt-4o-mini-2024-07-18"
    metrics = shown["metrics"]
    assert metrics["steps"] == 3
    assert isinstance(metrics["first_loss"], float) and isinstance(metrics["last_loss"], float)


def test_backend_openai_json_without_wait_has_no_model_yet(fake, capsys) -> None:
    code, out, _ = run(capsys, "--backend", "openai", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["status"] == "validating_files" and shown["model"] is None
    assert shown["metrics"] == {"steps": 0, "first_loss": None, "last_loss": None}


def test_without_backend_json_is_still_the_job_itself(fake, capsys) -> None:
    code, out, _ = run(capsys, "--json")
    job = json.loads(out)
    assert code == 0 and job["id"] in fake.state.jobs and "hyperparameters" in job
    assert "backend" not in job


def test_the_recorded_run_names_its_backend(fake, capsys) -> None:
    code, _, _ = run(capsys, "--backend", "openai", "--wait", "--interval", "0")
    (run_,) = list_runs("finetune")
    assert code == 0 and run_.status == "succeeded"
    assert run_.settings["backend"] == "openai"
    assert run_.outputs["model"].startswith("ft:") and run_.outputs["steps"] == 3


def test_without_backend_the_run_records_the_endpoints_kind(fake, capsys) -> None:
    run(capsys)
    (run_,) = list_runs("finetune")
    assert run_.settings["backend"] == "compatible"
