"""``python -m ftkit validate``: exit codes, the human summary and the --json shape."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ftkit.cli import main


def write_examples(path: Path, count: int = 12, bad: dict[int, bytes] | None = None) -> Path:
    lines = [
        orjson.dumps(
            {
                "messages": [
                    {"role": "system", "content": "You estimate prices of items."},
                    {"role": "user", "content": f"How much does this cost?\n\nItem {i}"},
                    {"role": "assistant", "content": f"Price is ${i + 10}.00"},
                ]
            }
        )
        for i in range(count)
    ]
    for number, raw in (bad or {}).items():
        lines[number - 1] = raw
    path.write_bytes(b"\n".join(lines))
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_file_exits_0_with_a_short_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["validate", str(write_examples(tmp_path / "t.jsonl"))], capsys)
    assert code == 0 and err == ""
    assert "12 training examples" in out and "0 errors, 0 warnings" in out
    assert "p10" in out and "median" in out and "p90" in out
    assert "prices as of 2026-11-26" in out and out.rstrip().endswith("OK")


def test_errors_exit_1_grouped_by_rule_with_first_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {3: b"{oops", 7: b"{oops", 9: b"[]"}
    code, out, _ = run(["validate", str(write_examples(tmp_path / "t.jsonl", bad=bad))], capsys)
    assert code == 1
    assert "line.json: 2× at lines 3, 7" in out and "line.not_object: 1× at line 9" in out
    assert "fix:" in out and "FAILED" in out


def test_warnings_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_examples(tmp_path / "t.jsonl")
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([*lines, lines[0]]))
    code, out, _ = run(["validate", str(path)], capsys)
    assert code == 0 and "warn.duplicate: 1× at line 13" in out


def test_missing_file_is_one_line_naming_it_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.jsonl"
    code, out, err = run(["validate", str(missing)], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and str(missing) in err


def test_missing_validation_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_examples(tmp_path / "t.jsonl")
    code, _, err = run(["validate", str(train), "--validation", str(tmp_path / "v.jsonl")], capsys)
    assert code == 2 and "v.jsonl" in err


def test_unknown_model_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_examples(tmp_path / "t.jsonl")
    code, _, err = run(["validate", str(path), "--model", "davinci-002"], capsys)
    assert code == 2 and "davinci-002" in err and "gpt-4o-mini-2024-07-18" in err


@pytest.mark.tiktoken  # no "approximate" note on stderr
def test_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_examples(tmp_path / "t.jsonl", bad={2: b"[]"})
    val = write_examples(tmp_path / "v.jsonl", count=3)
    argv = ["validate", str(train), "--validation", str(val), "--json", "--epochs", "4"]
    code, out, err = run([*argv, "--model", "ft:gpt-4o-mini-2024-07-18:org::abc"], capsys)
    assert code == 1 and err == ""
    data = orjson.loads(out)
    assert data["model"] == "gpt-4o-mini-2024-07-18"
    assert data["examples"] == 12 and data["validation_examples"] == 3
    [error] = data["errors"]
    assert set(error) == {"line", "code", "message", "fix", "file"}
    assert (error["line"], error["code"], error["file"]) == (2, "line.not_object", "training")
    shared = [w for w in data["warnings"] if w["code"] == "warn.shared_with_validation"]
    assert {w["line"] for w in shared} == {1, 3} and all(w["file"] == "validation" for w in shared)
    assert set(data["tokens"]) == {"total", "min", "p10", "median", "p90", "max"}
    assert data["epochs"] == 4 and data["epochs_source"] == "user"
    assert data["billed_tokens"] == 4 * data["tokens"]["total"]
    assert data["estimated_cost_usd"] == pytest.approx(data["billed_tokens"] * 3 / 1e6, abs=1e-4)
    assert data["prices_as_of"] == "2026-11-26" and data["ok"] is False
    assert data["error_count"] == 1 and data["approximate"] is False


def test_whole_file_problems_have_line_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_examples(tmp_path / "t.jsonl", count=3)
    code, out, _ = run(["validate", str(path), "--json"], capsys)
    assert code == 1
    [error] = orjson.loads(out)["errors"]
    assert (error["line"], error["code"], error["file"]) == (0, "file.too_few", "training")


@pytest.mark.parametrize(("value", "epochs"), [("auto", 3), ("1", 1), ("50", 50)])
def test_epochs_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, epochs: int
) -> None:
    path = write_examples(tmp_path / "t.jsonl", count=40)
    code, out, _ = run(["validate", str(path), "--json", "--epochs", value], capsys)
    assert code == 0 and orjson.loads(out)["epochs"] == epochs


@pytest.mark.parametrize("value", ["0", "51", "many"])
def test_bad_epochs_is_a_usage_error(tmp_path: Path, value: str) -> None:
    path = write_examples(tmp_path / "t.jsonl")
    with pytest.raises(SystemExit) as caught:
        main(["validate", str(path), "--epochs", value])
    assert caught.value.code == 2
