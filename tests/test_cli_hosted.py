"""``finetune``/``jobs --backend fireworks|together``: one key per provider, the same summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ftkit.history as history
from ftkit.cli import main
from ftkit.history import list_runs
from ftkit.training.together import DEFAULT_BASE_MODEL as TOGETHER_MODEL
from tests.fake_fireworks import ACCOUNT, KEY, FakeFireworks
from tests.fake_together import KEY as TOGETHER_KEY
from tests.fake_together import FakeTogether

MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"


def _write(path: Path, count: int, start: int = 0) -> None:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "You estimate prices of items."},
                {"role": "user", "content": f"How much does item {n} cost?"},
                {"role": "assistant", "content": f"Price is ${n}.00"},
            ]
        }
        for n in range(start, start + count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture
def folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    for name in ("TOGETHER_API_KEY", "FIREWORKS_API_KEY", "FIREWORKS_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    _write(tmp_path / "train.jsonl", 8)
    _write(tmp_path / "valid.jsonl", 4, start=100)
    yield tmp_path
    history.close_all()


@pytest.fixture
def fake(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeFireworks]:
    server = FakeFireworks()
    monkeypatch.setenv("FIREWORKS_API_KEY", KEY)
    monkeypatch.setenv("FIREWORKS_BASE_URL", server.url)
    yield server
    server.close()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and KEY not in out + err
    return code, out, err


def finetune(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return cli(
        capsys,
        "finetune",
        "--backend",
        "fireworks",
        "--training-file",
        "train.jsonl",
        "--validation-file",
        "valid.jsonl",
        "--model",
        MODEL,
        "--fireworks-account-id",
        ACCOUNT,
        *argv,
    )


def test_a_fireworks_job_trains_and_json_says_where_to_evaluate_it(
    fake: FakeFireworks, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = finetune(capsys, "--epochs", "2", "--wait", "--interval", "0", "--json")

    assert code == 0
    shown = json.loads(out)
    model = shown["model"]
    assert model.startswith(f"accounts/{ACCOUNT}/models/ftkit-")
    assert shown["backend"] == "fireworks" and shown["status"] == "succeeded"
    assert shown["base_model"] == MODEL and shown["job_id"]
    assert shown["serving"]["model"] == model
    assert shown["serving"]["base_url"] == "https://api.fireworks.ai/inference/v1"
    assert "firectl deployment create" in shown["serving"]["note"]
    assert "train.jsonl -> " in err
    assert fake.job_creates()[0].json()["epochs"] == 2


def test_the_text_output_ends_with_the_serving_note(
    fake: FakeFireworks, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = finetune(capsys, "--wait", "--interval", "0")

    assert code == 0
    assert "status: succeeded" in out
    assert "evaluate with: model accounts/" in out and "api.fireworks.ai/inference/v1" in out
    assert "firectl deployment create" in out


def test_the_run_is_recorded_with_its_backend_and_no_key(
    fake: FakeFireworks, capsys: pytest.CaptureFixture[str]
) -> None:
    finetune(capsys, "--wait", "--interval", "0")

    runs = list_runs()
    assert [run.status for run in runs] == ["succeeded"]
    assert runs[0].settings["backend"] == "fireworks"
    stored = json.dumps([runs[0].settings, runs[0].outputs])
    assert KEY not in stored and "FIREWORKS_API_KEY" not in stored


def test_the_account_id_comes_from_the_environment_when_no_flag_gives_it(
    fake: FakeFireworks, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", ACCOUNT)
    code, out, _ = cli(
        capsys,
        "finetune",
        "--backend",
        "fireworks",
        "--training-file",
        "train.jsonl",
        "--base-model",
        MODEL,
        "--json",
    )
    assert code == 0 and json.loads(out)["status"] in ("validating_files", "queued")


def test_the_flag_beats_the_environment_and_dotenv_fills_in(
    fake: FakeFireworks,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("FIREWORKS_API_KEY")
    (folder / ".env").write_text(f"FIREWORKS_API_KEY={KEY}\n", encoding="utf-8")
    monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", "someone-else")
    code, out, _ = finetune(capsys, "--json")
    assert code == 0 and json.loads(out)["job_id"]
    assert all(f"/accounts/{ACCOUNT}/" in request.path for request in fake.requests[1:])


def test_a_missing_key_is_one_line_saying_where_to_get_one(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["finetune", "--backend", "together", "--training-file", "train.jsonl"])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1
    assert "ftkit: error: backend together: set TOGETHER_API_KEY" in err
    assert "https://api.together.ai/settings/api-keys" in err


def test_a_missing_account_id_is_named(
    fake: FakeFireworks, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["finetune", "--backend", "fireworks", "--training-file", "train.jsonl"])
    err = capsys.readouterr().err
    assert code != 0 and "set FIREWORKS_ACCOUNT_ID" in err and KEY not in err


REFUSED = [
    (["--learning-rate-multiplier", "2"], "--learning-rate-multiplier is not taken by --backend"),
    (["--wandb-project", "p"], "--wandb-project is not taken by --backend fireworks"),
    (["--qlora"], "--qlora is not taken by --backend fireworks"),
    (["--max-steps", "5"], "--max-steps is not taken by --backend fireworks"),
    (["--base-url", "http://127.0.0.1:1"], "--base-url is not taken by --backend fireworks"),
    (["--base-model", "other"], "--model and --base-model name different models: give one"),
]


@pytest.mark.parametrize(("argv", "line"), REFUSED, ids=[r[0][0] for r in REFUSED])
def test_flags_a_provider_cannot_take_are_refused_one_line_each(
    fake: FakeFireworks, capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    code, _, err = finetune(capsys, *argv)
    assert code != 0 and line in err and err.count("\n") == 1
    assert fake.job_creates() == []


def test_the_account_id_flag_is_only_for_fireworks(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["finetune", "--backend", "local", "--fireworks-account-id", "a"])
    assert code != 0
    assert "--fireworks-account-id is only for --backend fireworks" in capsys.readouterr().err


def test_a_file_fireworks_rules_refuse_is_not_uploaded(
    fake: FakeFireworks, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "train.jsonl").write_text('{"messages": []}\n', encoding="utf-8")
    code, _, err = finetune(capsys)
    assert code != 0 and "train.jsonl" in err and err.count("\n") == 1
    assert fake.datasets == {}


def _start(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = finetune(capsys, "--json")
    assert code == 0
    job_id: str = json.loads(out)["job_id"]
    return job_id


def _jobs(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, _ = cli(
        capsys, "jobs", *argv, "--backend", "fireworks", "--fireworks-account-id", ACCOUNT, "--json"
    )
    assert code == 0
    return json.loads(out)


def test_jobs_list_show_events_and_cancel_work_on_fireworks(
    fake: FakeFireworks, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = _start(capsys)

    assert [job["id"] for job in _jobs(capsys, "list")] == [job_id]
    assert _jobs(capsys, "show", job_id)["id"] == job_id
    assert _jobs(capsys, "events", job_id)
    assert _jobs(capsys, "cancel", job_id)["status"] == "cancelled"
    assert _jobs(capsys, "show", job_id)["status"] == "cancelled"


def test_jobs_pause_says_a_fireworks_job_cannot_be_paused(
    fake: FakeFireworks, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = _start(capsys)
    code = main(
        ["jobs", "pause", job_id, "--backend", "fireworks", "--fireworks-account-id", ACCOUNT]
    )
    err = capsys.readouterr().err
    assert code != 0 and f"{job_id}: a fireworks job cannot be paused" in err


def test_jobs_list_local_lists_this_folders_runs(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "jobs", "list", "--backend", "local")
    assert code == 0 and out.strip() == "no fine-tuning jobs"


@pytest.fixture
def together(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTogether]:
    server = FakeTogether()
    monkeypatch.setenv("TOGETHER_API_KEY", TOGETHER_KEY)
    monkeypatch.setenv("TOGETHER_BASE_URL", server.url)
    yield server
    server.stop()


def test_a_together_job_trains_with_the_shared_flags_and_says_where_to_evaluate_it(
    together: FakeTogether, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["finetune", "--backend", "together", "--training-file", "train.jsonl"]
    argv += ["--validation-file", "valid.jsonl", "--model", TOGETHER_MODEL, "--epochs", "2"]
    code = main([*argv, "--lora-r", "8", "--wait", "--interval", "0", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and TOGETHER_KEY not in out + err, err
    shown = json.loads(out)
    assert (shown["backend"], shown["status"]) == ("together", "succeeded")
    assert shown["serving"]["model"] == shown["model"] and shown["serving"]["base_url"]
    assert shown["metrics"]["steps"] > 0
    (body,) = together.bodies("POST", "/v1/fine-tunes")
    assert (body["model"], body["n_epochs"]) == (TOGETHER_MODEL, 2)
    assert body["training_type"]["lora_r"] == 8
    code = main(["jobs", "list", "--backend", "together", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert code == 0 and [job["id"] for job in listed] == [shown["job_id"]]


def test_provider_keys_are_blanked_in_recorded_text() -> None:
    from ftkit.history.redact import redact

    line = "sent tgp_v1_abcdefghijklmnop and fw_ABCDEFGHIJKLMNOP to the provider"
    assert redact({"note": line, "TOGETHER_API_KEY": "x"}) == {
        "note": "sent [redacted] and [redacted] to the provider"
    }


def test_an_azure_job_is_checked_by_azure_rules_takes_its_training_type_and_says_how_to_deploy(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fake_openai import KEY as AZURE_KEY
    from tests.fake_openai import shared_fake

    fake = shared_fake()
    _write(folder / "train.jsonl", 12)  # Azure needs at least 10
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.azure_url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    argv = ["finetune", "--backend", "azure", "--training-file", "train.jsonl"]
    code = main([*argv, "--training-type", "standard", "--wait", "--interval", "0", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and AZURE_KEY not in out + err, err
    shown = json.loads(out)
    assert (shown["backend"], shown["status"]) == ("azure", "succeeded")
    assert "az cognitiveservices account deployment create" in shown["serving"]["note"]
    assert "--sku-name Standard" in shown["serving"]["note"]
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    monkeypatch.setenv("OPENAI_API_KEY", AZURE_KEY)
    code = main([*argv[:2], "openai", *argv[3:], "--training-type", "standard"])
    err = capsys.readouterr().err
    assert code != 0 and err == (
        "ftkit: error: --training-type is only for --backend azure (Azure OpenAI)\n"
    )
