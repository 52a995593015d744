"""The upload, finetune, jobs and models commands against the fake server, via OPENAI_BASE_URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftkit.cli import main
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
    return server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out + err
    assert "Traceback" not in out + err
    return code, out, err


def test_upload_prints_the_file_object_like_the_lecture(fake, capsys, tmp_path):
    write_examples(tmp_path / "train.jsonl")
    code, out, _ = run(capsys, "upload", "train.jsonl")
    assert code == 0
    assert (
        out.startswith("FileObject(id='file-") and "purpose='fine-tune', status='processed'" in out
    )
    code, out, err = run(capsys, "upload", "train.jsonl", "--json")
    assert json.loads(out)["filename"] == "train.jsonl"
    assert "reusing" in err
    assert len(fake.calls("POST", "/files")) == 1


def test_upload_refuses_a_failing_file_in_one_line(fake, capsys, tmp_path):
    write_examples(tmp_path / "bad.jsonl", bad=True)
    code, out, err = run(capsys, "upload", "bad.jsonl", "--no-wait")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--force" in err


def test_finetune_waits_and_prints_the_fine_tuned_model(fake, capsys, tmp_path, monkeypatch):
    write_examples(tmp_path / "train.jsonl")
    write_examples(tmp_path / "validation.jsonl", 10)
    code, out, err = run(
        capsys,
        "finetune",
        "--training-file",
        "train.jsonl",
        "--validation-file",
        "validation.jsonl",
        "--epochs",
        "2",
        "--wandb-project",
        "pricer",
        "--wait",
        "--interval",
        "0",
        "--json",
    )
    job = json.loads(out)
    assert code == 0 and job["status"] == "succeeded"
    assert job["fine_tuned_model"].startswith("ft:gpt-4o-mini-2024-07-18:")
    assert job["hyperparameters"]["n_epochs"] == 2
    assert "The job has successfully completed" in err


def test_jobs_list_show_events_and_cancel(fake, capsys, monkeypatch):
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    _, out, _ = run(capsys, "finetune", "--training-file", train)
    job_id = out.split()[1]
    assert run(capsys, "jobs", "list")[1].startswith(job_id)
    assert "status: queued" in run(capsys, "jobs", "show", job_id)[1]
    assert "Created fine-tuning job" in run(capsys, "jobs", "events", job_id)[1]
    assert json.loads(run(capsys, "jobs", "cancel", job_id, "--json")[1])["status"] == "cancelled"


def test_finetune_refused_with_403_is_one_clear_line(fake, capsys):
    fake.closed = True
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    code, out, err = run(capsys, "finetune", "--training-file", train)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "2027-01-06" in err and "python -m ftkit export" in err


def test_models_with_and_without_a_key(fake, capsys, monkeypatch):
    assert run(capsys, "models")[0] == 0
    _, out, _ = run(capsys, "models")
    assert "gpt-4.1-nano-2025-04-14  2027-06-30  api" in out
    monkeypatch.delenv("OPENAI_API_KEY")
    _, out, err = run(capsys, "models", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["gpt-4o-mini-2024-07-18"]["shutdown_date"] == "2027-01-14"
    assert "no API key set" in err


def test_without_a_key_commands_say_what_to_set(fake, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    code, _, err = run(capsys, "jobs", "list")
    assert code == 2 and "set OPENAI_API_KEY" in err


def test_a_dotenv_file_supplies_the_key(fake, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY")
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    assert run(capsys, "jobs", "list")[0] == 0
