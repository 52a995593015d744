"""The real course files (a student's export from the lecture) pass the pre-flight check."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftkit.cli import main
from ftkit.preflight.cost import DEFAULT_EPOCHS
from ftkit.preflight.scan import check_file


@pytest.fixture
def course(shared_dir: Path) -> Path:
    folder = shared_dir / "fixtures" / "course-jsonl"
    if not (folder / "fine_tune_train.jsonl").exists():
        pytest.skip("course JSONL fixture absent")
    return folder


def test_course_files_pass_with_no_errors(course: Path) -> None:
    train, val = course / "fine_tune_train.jsonl", course / "fine_tune_validation.jsonl"
    assert not train.read_bytes().endswith(b"\n")  # the course writes no final newline
    report = check_file(train, validation_path=val)
    assert report.errors == ()
    assert report.examples == 400 and report.validation_examples == 100
    assert report.epochs == DEFAULT_EPOCHS  # what finetune launches by default
    assert report.billed_tokens == DEFAULT_EPOCHS * report.tokens.total
    assert check_file(train, epochs=None).epochs == 3  # OpenAI's rule for 400 examples
    assert 0 < report.tokens.min <= report.tokens.p10 <= report.tokens.median
    assert report.tokens.median <= report.tokens.p90 <= report.tokens.max < 65_536


def test_course_files_from_the_command_line(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "validate",
            str(course / "fine_tune_train.jsonl"),
            "--validation",
            str(course / "fine_tune_validation.jsonl"),
        ]
    )
    assert code == 0
    assert "0 errors" in capsys.readouterr().out
