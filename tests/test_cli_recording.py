"""upload, finetune and evaluate record their runs; a fine-tuning job carries its run id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import ftkit.history as history
from ftkit.cli import main
from ftkit.history import get_run, list_runs
from ftkit.history.recording import content_hash
from tests.fake_openai import KEY, FakeOpenAI, shared_fake
from tests.test_files_upload import write_examples


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    monkeypatch.setenv("FTKIT_DATABASE_URL", url)
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    monkeypatch.chdir(tmp_path)
    yield url
    history.close_all()


@pytest.fixture
def fake(db: str, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    server = shared_fake()
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    return server


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_upload_records_file_hash_endpoint_and_reuse(fake, capsys, tmp_path) -> None:
    path = write_examples(tmp_path / "train.jsonl")
    assert _run(capsys, "upload", "train.jsonl")[0] == 0
    assert _run(capsys, "upload", "train.jsonl")[0] == 0
    second, first = list_runs("upload")
    assert first.settings == {
        "file": str(path),
        "dataset_hash": content_hash(path),
        "base_url": fake.url,
        "purpose": "fine-tune",
    }
    assert first.outputs["file_id"].startswith("file-") and first.outputs["status"] == "processed"
    assert first.outputs["bytes"] == path.stat().st_size
    assert (first.outputs["reused"], second.outputs["reused"]) == (False, True)
    assert second.outputs["file_id"] == first.outputs["file_id"]
    assert first.user == "ana@example.com"
    assert KEY not in json.dumps([first.settings, first.outputs])


def test_upload_no_history_records_nothing(fake, capsys, tmp_path) -> None:
    write_examples(tmp_path / "train.jsonl")
    assert _run(capsys, "upload", "train.jsonl", "--no-history")[0] == 0
    assert list_runs() == []


def test_finetune_records_the_run_and_the_job_carries_its_id(fake, capsys, tmp_path) -> None:
    write_examples(tmp_path / "train.jsonl")
    code, out, err = _run(
        capsys,
        "finetune",
        "--training-file",
        "train.jsonl",
        "--epochs",
        "2",
        "--seed",
        "7",
        "--watch",
        "--interval",
        "0",
        "--json",
    )
    assert code == 0, err
    job = json.loads(out)
    (upload,) = list_runs("upload")
    (run,) = list_runs("finetune")
    created = fake.calls("POST", "/fine_tuning/jobs")
    assert len(created) == 1
    assert created[0].body["metadata"]["ftkit_run_id"] == str(run.id)
    assert job["metadata"]["ftkit_run_id"] == str(run.id)
    assert run.settings["training_file"] == upload.outputs["file_id"]
    assert run.settings["hyperparameters"]["n_epochs"] == 2
    assert (run.settings["seed"], run.settings["model"]) == (7, "gpt-4o-mini-2024-07-18")
    assert run.settings["base_url"] == fake.url
    assert run.status == "succeeded"
    assert run.outputs["job_id"] == job["id"]
    assert run.outputs["fine_tuned_model"] == job["fine_tuned_model"]
    assert run.outputs["trained_tokens"] == 12345
    assert run.outputs["metrics"]["step"] == 3.0
    assert run.outputs["metrics"]["train_loss"] == pytest.approx(2.0 / 3, abs=1e-3)


def test_finetune_without_wait_stays_running(fake, capsys) -> None:
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    code, out, _ = _run(capsys, "finetune", "--training-file", train)
    assert code == 0
    (run,) = list_runs("finetune")
    assert run.status == "running"
    assert run.outputs["job_id"] == out.split()[1]
    assert run.outputs["job_status"] == "validating_files"


def _started_without_wait(fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> str:
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    return _run(capsys, "finetune", "--training-file", train)[1].split()[1]


def test_jobs_records_how_a_job_started_without_wait_ended(fake, capsys) -> None:
    job_id = _started_without_wait(fake, capsys)
    status = ""
    for _ in range(10):  # the fake moves a job one stage on each time it is shown
        status = json.loads(_run(capsys, "jobs", "show", job_id, "--json")[1])["status"]
        if status == "succeeded":
            break
        assert list_runs("finetune")[0].status == "running"
    assert status == "succeeded"
    (run,) = list_runs("finetune")
    assert run.status == "succeeded"
    assert run.outputs["fine_tuned_model"].startswith("ft:gpt-4o-mini")
    assert run.outputs["trained_tokens"] == 12345
    assert run.outputs["metrics"]["train_loss"] > 0
    # seen again, nothing changes: the run no longer says running
    events = len(fake.calls("GET", f"/fine_tuning/jobs/{job_id}/events"))
    _run(capsys, "jobs", "list")
    assert len(fake.calls("GET", f"/fine_tuning/jobs/{job_id}/events")) == events
    assert get_run(run.id).status == "succeeded"


def test_jobs_records_a_cancelled_job_unless_told_not_to(fake, capsys) -> None:
    first = _started_without_wait(fake, capsys)
    _run(capsys, "jobs", "cancel", first, "--no-history")
    second = _started_without_wait(fake, capsys)
    _run(capsys, "jobs", "cancel", second)
    runs = {run.outputs["job_id"]: run.status for run in list_runs("finetune")}
    assert runs == {first: "running", second: "cancelled"}


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_jobs_still_shows_the_job_when_recording_its_end_fails(fake, capsys, kind) -> None:
    job_id = _started_without_wait(fake, capsys)
    fake.inject("GET", f"/fine_tuning/jobs/{job_id}/events", kind, times=1000)
    code, out, err = _run(capsys, "jobs", "cancel", job_id)
    assert code == 0 and "status: cancelled" in out
    assert err.count("\n") == 1 and err.startswith("ftkit: note: not recorded in the history")
    (run,) = list_runs("finetune")
    assert run.status == "running"  # a later ``jobs show`` records it
    fake.faults.clear()
    _run(capsys, "jobs", "show", job_id)
    assert list_runs("finetune")[0].status == "cancelled"


def test_jobs_elsewhere_leaves_no_history_database_behind(fake, capsys, monkeypatch, tmp_path):
    job_id = _started_without_wait(fake, capsys)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("FTKIT_DATABASE_URL")
    code, _, err = _run(capsys, "jobs", "cancel", job_id)
    assert code == 0 and err == ""
    assert list(elsewhere.iterdir()) == []


def test_a_refused_finetune_is_recorded_as_failed(fake, capsys) -> None:
    fake.closed = True
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    code, _, err = _run(capsys, "finetune", "--training-file", train)
    assert code == 2 and err.count("\n") == 1
    (run,) = list_runs("finetune")
    assert run.status == "failed" and "2027-01-06" in run.outputs["error"]


def test_an_explicit_run_id_goes_into_the_metadata(fake, capsys) -> None:
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    assert _run(capsys, "finetune", "--training-file", train, "--run-id", "mine-1")[0] == 0
    assert fake.calls("POST", "/fine_tuning/jobs")[0].body["metadata"]["ftkit_run_id"] == "mine-1"
    assert list_runs("finetune")[0].outputs["ftkit_run_id"] == "mine-1"


def test_a_broken_history_never_fails_the_command(fake, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("FTKIT_DATABASE_URL", "nosuch://db")
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    code, out, err = _run(capsys, "finetune", "--training-file", train)
    assert code == 0 and out.startswith("job:")
    assert "not recorded in the history" in err
    assert len(fake.calls("POST", "/fine_tuning/jobs")) == 1


def test_evaluate_a_baseline_records_metrics_and_the_saved_run(db, capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, "evaluate", "--model", "baseline:mean", "--size", "20", "--json")
    assert code == 0
    printed = json.loads(out)
    (run,) = list_runs("evaluate")
    assert run.settings["model"] == "baseline:mean"
    assert run.settings["source"] == "sample"
    assert run.settings["dataset_hash"] == content_hash("sample")
    assert (run.settings["size"], run.settings["workers"]) == (20, 1)
    assert run.settings["train_source"] == "sample"
    metrics = run.outputs["metrics"]
    for name in ("average_error", "rmsle", "hit_rate_pct", "mse", "r2"):
        assert metrics[name] == pytest.approx(printed[name], abs=0.01), name
    assert metrics["unparsed"] == 0 and metrics["scored"] == 20
    saved = Path(run.outputs["saved_path"])
    assert saved.is_file() and saved.parent == tmp_path / ".ftkit" / "runs"


def test_rerun_an_evaluation_gives_the_same_metrics(db, capsys) -> None:
    assert _run(capsys, "evaluate", "--model", "baseline:random", "--size", "15")[0] == 0
    (original,) = list_runs("evaluate")
    code, out, _ = _run(capsys, "history", "--rerun", str(original.id), "--json")
    assert code == 0
    again = get_run(json.loads(out)["id"])
    assert again.parent_run_id == original.id and again.settings == original.settings
    assert again.outputs["metrics"] == original.outputs["metrics"]


def test_rerun_a_model_evaluation_without_a_key_is_one_line(db, capsys, monkeypatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    history.record_run(
        "evaluate",
        {"model": "gpt-4o-mini", "source": "sample", "size": 3},
        {},
        user="ana@example.com",
    )
    code, out, err = _run(capsys, "history", "--rerun", "1")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "OPENAI_API_KEY" in err


def test_history_json_lists_every_kind(fake, capsys, tmp_path) -> None:
    assert _run(capsys, "prepare", "--out", "out", "--train", "20", "--validation", "3")[0] == 0
    assert _run(capsys, "validate", "out/fine_tune_train.jsonl")[0] == 0
    assert _run(capsys, "finetune", "--training-file", "out/fine_tune_train.jsonl")[0] == 0
    assert _run(capsys, "evaluate", "--model", "baseline:random", "--size", "5")[0] == 0
    code, out, _ = _run(capsys, "history", "--json")
    assert code == 0
    runs = json.loads(out)
    assert {r["kind"] for r in runs} == {"prepare", "validate", "upload", "finetune", "evaluate"}
    for row in runs:
        assert {"id", "kind", "created_at", "settings", "outputs"} <= row.keys()


def test_a_rerun_whose_files_cannot_be_saved_is_still_recorded(db, capsys, tmp_path) -> None:
    from ftkit.errors import OutputError
    from ftkit.history.recording import rerun

    assert _run(capsys, "evaluate", "--model", "baseline:mean", "--size", "10")[0] == 0
    (original,) = list_runs("evaluate")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError) as caught:
        rerun(original, user="ana@example.com", out_dir=blocker / "runs")
    message = str(caught.value)
    assert message.startswith("re-run recorded as run 2, but its files were not saved: ")
    assert str(blocker) in message and "\n" not in message
    again = get_run(2)
    assert again.parent_run_id == original.id
    assert again.outputs["metrics"] == original.outputs["metrics"]
    assert not (blocker / "runs").exists()
