"""Hostile lines for ``validate`` and ``upload``: every field of OpenAI's chat fine-tuning format.

A wrong type anywhere is a rule with a line number, never a traceback; NaN, Infinity and deep
nesting are invalid JSON for that line; a valid example with tools, tool calls, images and
weights passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from ftkit.cli import main
from ftkit.errors import UploadError
from ftkit.preflight import scan
from ftkit.preflight.scan import check_file
from ftkit.training.files import upload_file

USER = {"role": "user", "content": "How much does this cost?"}
ANSWER = {"role": "assistant", "content": "Price is $12.00"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def _example(*messages: Any, **top: Any) -> dict[str, Any]:
    return {"messages": list(messages), **top}


def _user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def _calls(calls: Any) -> dict[str, Any]:
    return {"role": "assistant", "tool_calls": calls}


def _call(**changes: Any) -> dict[str, Any]:
    return {**CALL, **changes}


def _function(**changes: Any) -> dict[str, Any]:
    return {**CALL, "function": {**CALL["function"], **changes}}


# (id, the hostile example as a JSON line, the rule it breaks)
HOSTILE: list[tuple[str, bytes, str]] = [
    (case, orjson.dumps(example), code)
    for case, example, code in [
        ("part-type-list", _example(_user([{"type": ["text"], "text": "x"}]), ANSWER), "content"),
        ("part-type-object", _example(_user([{"type": {"a": 1}, "text": "x"}]), ANSWER), "content"),
        ("part-null", _example(_user([None]), ANSWER), "content"),
        ("part-text-number", _example(_user([{"type": "text", "text": 5}]), ANSWER), "content"),
        (
            "part-extra-key",
            _example(_user([{"type": "text", "text": "a", "x": 1}]), ANSWER),
            "content",
        ),
        ("image-no-object", _example(_user([{"type": "image_url"}]), ANSWER), "content"),
        (
            "image-no-url",
            _example(_user([{"type": "image_url", "image_url": {}}]), ANSWER),
            "content",
        ),
        (
            "image-url-list",
            _example(_user([{"type": "image_url", "image_url": {"url": ["x"]}}]), ANSWER),
            "content",
        ),
        (
            "image-detail-bad",
            _example(
                _user(
                    [{"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": 3}}]
                ),
                ANSWER,
            ),
            "content",
        ),
        ("content-object", _example(_user({"text": "x"}), ANSWER), "content"),
        ("tool-calls-garbage", _example(USER, _calls("garbage")), "tool_calls"),
        ("tool-calls-empty", _example(USER, _calls([])), "tool_calls"),
        ("tool-call-number", _example(USER, _calls([1])), "tool_calls"),
        ("tool-call-no-id", _example(USER, _calls([_call(id=None)])), "tool_calls"),
        ("tool-call-id-list", _example(USER, _calls([_call(id=["a"])])), "tool_calls"),
        ("tool-call-type", _example(USER, _calls([_call(type="browser")])), "tool_calls"),
        ("tool-call-function-text", _example(USER, _calls([_call(function="f")])), "tool_calls"),
        ("tool-call-name-list", _example(USER, _calls([_function(name=["f"])])), "tool_calls"),
        ("tool-call-name-spaces", _example(USER, _calls([_function(name="a b")])), "tool_calls"),
        (
            "tool-call-arguments-object",
            _example(USER, _calls([_function(arguments={})])),
            "tool_calls",
        ),
        (
            "function-call-text",
            _example(USER, {"role": "assistant", "function_call": "f"}),
            "tool_calls",
        ),
        (
            "function-call-no-arguments",
            _example(USER, {"role": "assistant", "function_call": {"name": "f"}}),
            "tool_calls",
        ),
        ("tools-text", _example(USER, ANSWER, tools="lookup"), "tools"),
        ("tools-entry-list", _example(USER, ANSWER, tools=[[TOOL]]), "tools"),
        ("tools-type", _example(USER, ANSWER, tools=[{**TOOL, "type": "code"}]), "tools"),
        (
            "tools-name-number",
            _example(USER, ANSWER, tools=[{"type": "function", "function": {"name": 1}}]),
            "tools",
        ),
        (
            "tools-parameters-list",
            _example(
                USER,
                ANSWER,
                tools=[{"type": "function", "function": {"name": "f", "parameters": []}}],
            ),
            "tools",
        ),
        (
            "tools-strict-text",
            _example(
                USER, ANSWER, tools=[{"type": "function", "function": {"name": "f", "strict": "y"}}]
            ),
            "tools",
        ),
        ("functions-empty", _example(USER, ANSWER, functions=[]), "tools"),
        ("functions-name-null", _example(USER, ANSWER, functions=[{"name": None}]), "tools"),
        ("parallel-text", _example(USER, ANSWER, parallel_tool_calls="yes"), "tools"),
        ("weight-true", _example(USER, {**ANSWER, "weight": True}), "weight"),
        ("weight-half", _example(USER, {**ANSWER, "weight": 0.5}), "weight"),
        ("weight-list", _example(USER, {**ANSWER, "weight": [1]}), "weight"),
        ("role-list", _example({"role": ["user"], "content": "x"}, ANSWER), "role"),
        ("role-object", _example({"role": {"user": 1}, "content": "x"}, ANSWER), "role"),
        ("name-list", _example({**USER, "name": ["a"]}, ANSWER), "keys"),
        (
            "tool-call-id-number",
            _example(USER, _calls([CALL]), {"role": "tool", "content": "1", "tool_call_id": 1}),
            "keys",
        ),
        ("message-list", _example([USER], ANSWER), "keys"),
    ]
] + [
    ("nan", b'{"messages": [{"role": "user", "content": "x", "n": NaN}]}', "json"),
    ("infinity", b'{"messages": [{"role": "user", "content": -Infinity}]}', "json"),
    ("deep-nan", b'{"messages": ' + b"[" * 2000 + b"NaN" + b"]" * 2000 + b"}", "json"),
    ("deep-100k", b'{"messages": [{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", "json"),
    ("deep-objects", b'{"a": ' * 5000 + b"1" + b"}" * 5000, "json"),
]

RULE_CODES = {
    "content": "message.content",
    "tool_calls": "message.tool_calls",
    "tools": "example.tools",
    "weight": "message.weight",
    "role": "messages.role",
    "keys": "message.keys",
    "json": "line.json",
}

VALID: list[tuple[str, dict[str, Any]]] = [
    (
        "tool-calls",
        _example(
            USER,
            _calls([CALL]),
            {"role": "tool", "content": "12", "tool_call_id": "call_1"},
            ANSWER,
            tools=[TOOL],
            parallel_tool_calls=False,
        ),
    ),
    (
        "image-detail",
        _example(
            _user(
                [
                    {"type": "text", "text": "this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                ]
            ),
            ANSWER,
        ),
    ),
    (
        "function-call",
        _example(
            USER,
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "f", "arguments": "{}"},
            },
            {"role": "function", "name": "f", "content": "1"},
            ANSWER,
            functions=[{"name": "f", "description": "d", "parameters": {"type": "object"}}],
        ),
    ),
    ("weights", _example(USER, {**ANSWER, "weight": 0}, USER, {**ANSWER, "weight": 1})),
    (
        "strict-null",
        _example(
            USER, ANSWER, tools=[{"type": "function", "function": {"name": "f", "strict": None}}]
        ),
    ),
]


def _file(path: Path, line: bytes, *, at: int = 11, count: int = 12) -> Path:
    good = [
        orjson.dumps(_example(USER, {**ANSWER, "content": f"Price is ${i}.00"}))
        for i in range(count)
    ]
    good[at - 1] = line
    path.write_bytes(b"\n".join(good) + b"\n")
    return path


@pytest.mark.parametrize(
    ("line", "code"),
    [(line, code) for _, line, code in HOSTILE],
    ids=[case for case, _, _ in HOSTILE],
)
def test_a_hostile_field_is_a_rule_with_its_line_number(
    tmp_path: Path, line: bytes, code: str
) -> None:
    report = check_file(_file(tmp_path / "train.jsonl", line))
    assert [(issue.line, issue.code) for issue in report.errors] == [(11, RULE_CODES[code])]
    assert len(report.errors[0].message) < 200 and "\n" not in report.errors[0].message


@pytest.mark.parametrize(
    ("line", "code"),
    [(line, code) for _, line, code in HOSTILE],
    ids=[case for case, _, _ in HOSTILE],
)
def test_validate_prints_the_rule_and_exits_1_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: bytes, code: str
) -> None:
    path = _file(tmp_path / "train.jsonl", line)
    assert main(["validate", str(path), "--no-history"]) == 1
    out, err = capsys.readouterr()
    assert f"{RULE_CODES[code]}: 1× at line 11" in out and "Traceback" not in out + err


@pytest.mark.parametrize(
    "example", [example for _, example in VALID], ids=[case for case, _ in VALID]
)
def test_every_documented_shape_passes(tmp_path: Path, example: dict[str, Any]) -> None:
    report = check_file(_file(tmp_path / "train.jsonl", orjson.dumps(example)))
    assert report.errors == ()


def test_nan_is_named_as_such(tmp_path: Path) -> None:
    report = check_file(
        _file(tmp_path / "t.jsonl", b'{"messages": [{"role": "user", "content": NaN}]}')
    )
    assert report.errors[0].message == "NaN or Infinity is not strict JSON"


def test_deep_nesting_is_named_with_the_limit(tmp_path: Path) -> None:
    report = check_file(_file(tmp_path / "t.jsonl", b"[" * 3000 + b"]" * 3000))
    assert report.errors[0].message == "nested deeper than 1,024 levels"


def test_upload_refuses_a_hostile_file_before_sending_anything(tmp_path: Path) -> None:
    path = _file(tmp_path / "train.jsonl", orjson.dumps(_example(USER, _calls("garbage"))))
    client = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(UploadError) as caught:
        upload_file(client, path, endpoint="test", store=tmp_path / "uploads.json")
    assert str(caught.value).startswith(f"{path}: not uploaded, the pre-flight check found 1 error")
    assert "line 11: message 2 (assistant) tool_calls must be a non-empty list" in str(caught.value)
    assert not (tmp_path / "uploads.json").exists()


def test_an_over_long_line_is_skipped_unread_and_the_rest_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(scan, "CHUNK_BYTES", 256)
    path = _file(tmp_path / "t.jsonl", b'{"messages": "' + b"x" * 5000 + b'"}', at=5)
    report = check_file(path)
    assert [(issue.line, issue.code) for issue in report.errors] == [(5, "line.too_long")]
    assert report.examples == 12


def test_a_file_over_the_size_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "MAX_FILE_BYTES", 100)
    report = check_file(_file(tmp_path / "t.jsonl", b"{oops"))
    assert [issue.code for issue in report.errors] == ["file.too_large"]
    assert report.examples == 0
