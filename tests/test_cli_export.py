"""``python -m ftkit export``: the --json shape, exit codes, one-line errors, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftkit.cli import main
from ftkit.dataset.prepare import prepare
from ftkit.exports import FORMATS, read_export, read_parquet


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("prepared")
    result = prepare(out_dir=out, train=30, validation=6)
    assert result.validation_path is not None
    return result.train_path, result.validation_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


@pytest.mark.parametrize("format", FORMATS)
def test_json_lists_the_files_and_examples(
    format: str, prepared: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, validation = prepared
    argv = ["export", "--format", format, "--train", str(train), "--validation", str(validation)]
    code, out, err = run([*argv, "--out", str(tmp_path), "--json"], capsys)
    assert code == 0 and err == ""
    summary = json.loads(out)
    assert summary["format"] == format and summary["examples"] == 30
    assert summary["validation_examples"] == 6
    files = [Path(name) for name in summary["files"]]
    assert sorted(files) == sorted(tmp_path.iterdir())
    back_train, back_validation = read_export(format, tmp_path)  # type: ignore[arg-type]
    assert len(back_train) == 30 and len(back_validation) == 6
    if format == "hf-chat":
        assert {f.suffix for f in files} == {".jsonl", ".parquet"}
        assert read_parquet(tmp_path / "hf-chat_train.parquet") == back_train


def test_human_summary_names_the_trainer_and_its_rules(
    prepared: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [
            "export",
            "--format",
            "vertex-gemini",
            "--train",
            str(prepared[0]),
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0
    assert "Exported 30 training and 0 validation examples for Vertex AI (Gemini)" in out
    assert str(tmp_path / "vertex-gemini_train.jsonl") in out
    assert "Rules as of 2026-11-26: https://cloud.google.com/vertex-ai/" in out


def test_missing_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.jsonl"
    code, out, err = run(
        ["export", "--format", "bedrock", "--train", str(missing), "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(missing) in err
    assert not (tmp_path / "o").exists()


def test_missing_validation_file_exit_2(
    prepared: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", "--format", "together", "--train", str(prepared[0])]
    argv += ["--validation", str(tmp_path / "v.jsonl"), "--out", str(tmp_path / "o")]
    code, _, err = run(argv, capsys)
    assert code == 2 and "v.jsonl" in err and not (tmp_path / "o").exists()


def test_invalid_jsonl_line_names_the_line_exit_2(
    prepared: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = prepared[0].read_bytes().splitlines()
    lines[6] = b'{"messages": [oops'
    bad.write_bytes(b"\n".join(lines))
    code, out, err = run(
        ["export", "--format", "openai-chat", "--train", str(bad), "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "bad.jsonl: line 7 is not valid JSON" in err
    assert not (tmp_path / "o").exists()


def test_a_split_the_trainer_rejects_exits_1_and_keeps_the_previous_export(
    prepared: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    good = ["export", "--format", "bedrock", "--train", str(prepared[0]), "--out", str(out_dir)]
    assert run(good, capsys)[0] == 0
    before = snapshot(out_dir)
    few = tmp_path / "few.jsonl"
    few.write_bytes(b"\n".join(prepared[0].read_bytes().splitlines()[:5]))
    argv = ["export", "--format", "bedrock", "--train", str(few), "--validation", str(prepared[1])]
    code, out, err = run([*argv, "--out", str(out_dir), "--json"], capsys)
    assert code == 1 and out == ""
    assert err == (
        "ftkit: error: bedrock: Amazon Bedrock (Nova) cannot take this split: "
        "5 training examples; Amazon Bedrock (Nova) needs at least 8\n"
    )
    assert snapshot(out_dir) == before


def test_a_non_chat_line_is_a_failed_check_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"prompt": "q", "completion": "a"}\n' * 12)
    code, _, err = run(
        ["export", "--format", "hf-chat", "--train", str(odd), "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 1 and err.count("\n") == 1
    assert 'training example 1: the line needs a non-empty "messages" list' in err
    assert not (tmp_path / "o").exists()


def test_unknown_format_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["export", "--format", "mistral", "--train", "t.jsonl", "--out", str(tmp_path)])
    assert caught.value.code == 2
    assert "invalid choice: 'mistral'" in capsys.readouterr().err
