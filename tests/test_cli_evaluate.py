"""``python -m ftkit evaluate``: --json shape, baselines offline, a chat model, no key, charts."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks import course
from ftkit.cli import main
from tests.fake_chat import serve
from tests.test_pickles import course_pickle

KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_shape_for_a_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["evaluate", "--model", "baseline:mean", "--size", "20", "--json", "--out", "runs"], capsys
    )
    assert code == 0
    data = orjson.loads(out)
    assert {
        "model",
        "size",
        "average_error",
        "rmsle",
        "hit_rate_pct",
        "mse",
        "r2",
        "unparsed",
    } <= set(data)
    assert data["model"] == "baseline:mean" and data["size"] == 20 and len(data["items"]) == 20
    first = data["items"][0]
    assert {"title", "truth", "guess", "error", "color"} <= set(first)
    assert first["error"] == pytest.approx(abs(first["guess"] - first["truth"]), abs=1e-3)
    assert len({item["guess"] for item in data["items"]}) == 1
    saved = sorted((tmp_path / "runs").iterdir())
    assert [p.suffix for p in saved] == [".csv", ".json"] and "saved:" in err


def test_text_report_has_the_course_title(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["evaluate", "--model", "baseline:regression", "--no-save"], capsys)
    assert code == 0
    first = out.splitlines()[0]
    assert (
        first.startswith("baseline:regression Error=$") and "RMSLE=" in first and "Hits=" in first
    )
    assert "items 250 of 250" in out and "error by price band:" in out


def test_no_key_is_one_line_saying_what_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["evaluate", "--model", "gpt-4o-mini"], capsys)
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "set OPENAI_API_KEY" in err


def test_a_chat_model_on_a_compatible_server(capsys: pytest.CaptureFixture[str]) -> None:
    def reply(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        return ("status", 429, {"Retry-After": "0"}) if attempt == 1 else ("answer", "25.00")

    with serve(reply) as fake:
        code, out, err = run(
            [
                "evaluate",
                "--model",
                "gpt-4o-mini",
                "--base-url",
                fake.url,
                "--size",
                "6",
                "--workers",
                "3",
                "--json",
                "--no-save",
            ],
            capsys,
        )
    assert code == 0, err
    data = orjson.loads(out)
    assert [item["guess"] for item in data["items"]] == [25.0] * 6
    assert len(fake.requests) == 12 and "cost: at most $" in err


def test_a_bad_source_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["evaluate", "--model", "baseline:mean", "--source", "test.pkl"], capsys)
    assert code == 2 and err.strip() == "ftkit: error: test.pkl: no such file"


def test_course_test_pickle_as_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "test.pkl"
    path.write_bytes(course_pickle(course.make_items(8)))
    code, out, err = run(
        [
            "evaluate",
            "--model",
            "baseline:mean",
            "--source",
            str(path),
            "--json",
            "--no-save",
            "--size",
            "5",
        ],
        capsys,
    )
    assert code == 0, err
    data = orjson.loads(out)
    assert data["size"] == 5 and data["source"] == str(path)


@pytest.mark.skipif(importlib.util.find_spec("vl_convert") is None, reason="no vl-convert-python")
def test_chart_png_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for model in ("baseline:mean", "baseline:random"):
        assert run(["evaluate", "--model", model, "--size", "30", "--out", "runs"], capsys)[0] == 0
    code, out, _ = run(
        [
            "evaluate",
            "--model",
            "baseline:mean",
            "--size",
            "30",
            "--no-save",
            "--chart",
            "chart.png",
        ],
        capsys,
    )
    assert code == 0 and (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    runs = sorted(str(p) for p in (tmp_path / "runs").glob("*.json"))
    code, out, _ = run(["evaluate", "--compare", *runs, "--chart", "compare.png"], capsys)
    assert code == 0 and out.count("Error=$") == 2
    assert (tmp_path / "compare.png").stat().st_size > 1000


def test_chart_without_vl_convert_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # makes the import fail
    code, out, err = run(
        ["evaluate", "--model", "baseline:mean", "--size", "5", "--no-save", "--chart", "c.png"],
        capsys,
    )
    assert code == 2 and out.startswith("baseline:mean Error=$")
    assert err.count("ftkit: error:") == 1
    assert err.strip().splitlines()[-1] == (
        "ftkit: error: c.png: cannot render a PNG without vl-convert-python "
        "(pip install vl-convert-python)"
    )
    assert not Path("c.png").exists()


QUIET = ("--size", "20", "--no-save", "--no-history")


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `ftkit evaluate ... | head` once head has its lines
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ftkit", "evaluate", "--model", "baseline:mean", *QUIET],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.returncode == 141
