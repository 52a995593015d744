"""Each pre-flight rule, table-driven: one bad line is reported with its code at its line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ftkit.preflight import scan as check_module
from ftkit.preflight.report import CheckReport
from ftkit.preflight.rules import RULES
from ftkit.preflight.scan import check_file, format_report
from ftkit.preflight.tokens import CHARS_PER_PIECE, Tokenizer

SYSTEM = "You estimate prices of items. Reply only with the price, no explanation"
BAD_LINE = 5


def example(index: int, **extra: object) -> dict[str, object]:
    """Return a clean course-style example; ``index`` makes it unique."""
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"How much does this cost?\n\nWidget model {index}"},
            {"role": "assistant", "content": f"Price is ${100 + index}.00", **extra},
        ]
    }


def line(messages: list[dict[str, object]]) -> bytes:
    return orjson.dumps({"messages": messages})


def clean_lines(count: int = 12) -> list[bytes]:
    return [orjson.dumps(example(i)) for i in range(count)]


def write(tmp_path: Path, lines: list[bytes], name: str = "train.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines))
    return path


def found(report: CheckReport) -> set[tuple[int, str]]:
    return {(issue.line, issue.code) for issue in report.errors + report.warnings}


USER = {"role": "user", "content": "How much is the gadget?"}
ANSWER = {"role": "assistant", "content": "Price is $5.00"}

BAD_LINES: list[tuple[str, bytes]] = [
    ("line.utf8", b'{"messages": [{"role": "user", "content": "caf\xe9"}]}'),
    ("line.bom", b"\xef\xbb\xbf" + line([USER, ANSWER])),
    ("line.json", b'{"messages": [{"role": "user"'),
    ("line.json", b'{"messages": [], "score": NaN}'),
    ("line.json", b'{"messages": [], "score": -Infinity}'),
    ("line.not_object", b'[{"role": "user", "content": "hi"}]'),
    ("line.not_object", b'"just text"'),
    ("line.blank", b""),
    ("line.blank", b"   \t"),
    ("messages.missing", b'{"conversation": []}'),
    ("messages.missing", b'{"messages": []}'),
    ("messages.missing", b'{"messages": "hello"}'),
    ("messages.role", line([{"role": "bot", "content": "hi"}, ANSWER])),
    ("messages.role", line([{"content": "no role"}, ANSWER])),
    ("message.keys", line([{"role": "user", "content": "hi", "lang": "en"}, ANSWER])),
    ("message.keys", line([USER, ANSWER, {"role": "tool", "content": "42"}])),
    ("message.keys", line([{"role": "system"}, USER, ANSWER])),
    ("message.keys", line(["not an object", ANSWER])),
    ("message.content", line([{"role": "user", "content": ""}, ANSWER])),
    ("message.content", line([{"role": "user", "content": 42}, ANSWER])),
    ("message.content", line([USER, {"role": "assistant", "content": None}])),
    (
        "message.content",
        line([{"role": "user", "content": [{"type": "text", "text": ""}]}, ANSWER]),
    ),
    ("message.content", line([{"role": "system", "content": [{"type": "image_url"}]}, ANSWER])),
    ("messages.no_assistant", line([{"role": "system", "content": SYSTEM}, USER])),
    ("message.weight", line([{"role": "user", "content": "hi", "weight": 1}, ANSWER])),
    ("message.weight", line([USER, {**ANSWER, "weight": 2}])),
    ("message.weight", line([USER, {**ANSWER, "weight": True}])),
    ("message.weight", line([USER, {**ANSWER, "weight": 1.0}])),
    ("content.special_token", line([{"role": "user", "content": "a <|endoftext|> b"}, ANSWER])),
    ("content.special_token", line([USER, {"role": "assistant", "content": "x<|fim_suffix|>"}])),
    ("warn.duplicate", orjson.dumps(example(2))),
    ("warn.price_leak", line([{"role": "user", "content": "Sale! was $5.00"}, ANSWER])),
    ("warn.price_leak", line([{"role": "user", "content": "list price 5.00 USD"}, ANSWER])),
]


@pytest.mark.parametrize(
    ("code", "bad"), BAD_LINES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD_LINES)]
)
def test_one_bad_line_reports_its_rule_at_its_line(tmp_path: Path, code: str, bad: bytes) -> None:
    lines = clean_lines()
    lines[BAD_LINE - 1] = bad
    report = check_file(write(tmp_path, lines))
    assert (BAD_LINE, code) in found(report)
    assert {c for _, c in found(report)} == {code}
    issue = next(i for i in report.errors + report.warnings if i.code == code)
    assert issue.fix == RULES[code].fix and issue.message
    assert report.ok is (RULES[code].severity == "warning")


def test_clean_file_reports_nothing(tmp_path: Path) -> None:
    report = check_file(write(tmp_path, clean_lines()))
    assert report.errors == () and report.warnings == ()
    assert report.ok and report.examples == 12


GOOD_SHAPES: list[list[dict[str, object]]] = [
    [USER, {**ANSWER, "weight": 0}, USER, {**ANSWER, "weight": 1}],
    [{"role": "user", "content": "hi", "name": "ann"}, ANSWER],
    [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        },
        ANSWER,
    ],
    [
        USER,
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
        ANSWER,
    ],
    [
        USER,
        {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "function", "name": "f", "content": "42"},
        ANSWER,
    ],
    [{"role": "user", "content": "costs $50.00 less than the $1,205 model"}, ANSWER],
]


@pytest.mark.parametrize("messages", GOOD_SHAPES)
def test_valid_shapes_pass(tmp_path: Path, messages: list[dict[str, object]]) -> None:
    lines = clean_lines()
    lines[BAD_LINE - 1] = line(messages)
    assert found(check_file(write(tmp_path, lines))) == set()


def test_missing_final_newline_and_single_final_newline_are_fine(tmp_path: Path) -> None:
    body = b"\n".join(clean_lines())
    for data in (body, body + b"\n", body.replace(b"\n", b"\r\n") + b"\r\n"):
        path = tmp_path / "t.jsonl"
        path.write_bytes(data)
        assert found(check_file(path)) == set()
    path.write_bytes(body + b"\n\n")
    assert found(check_file(path)) == {(13, "line.blank")}


def test_bom_on_the_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, clean_lines())
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert found(check_file(path)) == {(1, "line.bom")}


@pytest.mark.parametrize(("count", "failing"), [(0, True), (9, True), (10, False)])
def test_at_least_ten_examples(tmp_path: Path, count: int, failing: bool) -> None:
    report = check_file(write(tmp_path, clean_lines(count)))
    assert ((0, "file.too_few") in found(report)) is failing


def test_file_size_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, clean_lines())
    size = path.stat().st_size
    monkeypatch.setattr(check_module, "UPLOADS_API_BYTES", size - 1)
    report = check_file(path)
    assert found(report) == {(0, "file.needs_uploads_api")} and report.ok
    monkeypatch.setattr(check_module, "MAX_FILE_BYTES", size - 1)
    report = check_file(path)
    assert found(report) == {(0, "file.too_large")} and not report.ok


def test_token_limit_truncation_warning_and_too_long_error(tmp_path: Path) -> None:
    approx = Tokenizer("cl100k_base")  # one token per started 7 letters: exact arithmetic
    lines = clean_lines()
    # limit 16,385; approximate role tokens: "user" 1, "assistant" 2; ANSWER 6 tokens.
    # line 3: 3 + (3+1+16,370) + (3+2+20) = 16,402 > limit, but the prompt (16,382) fits
    lines[2] = line(
        [
            {"role": "user", "content": "x" * 16_370 * CHARS_PER_PIECE},
            {"role": "assistant", "content": "y" * 20 * CHARS_PER_PIECE},
        ]
    )
    lines[6] = line([{"role": "user", "content": "x" * 16_400 * CHARS_PER_PIECE}, ANSWER])
    report = check_file(write(tmp_path, lines), model="gpt-3.5-turbo-0125", tokenizer=approx)
    assert found(report) == {(3, "warn.truncated"), (7, "example.too_long")}
    assert report.tokens.max == 3 + (3 + 1 + 16_400) + (3 + 2 + 6)


def test_validation_file_checked_with_the_same_rules_and_overlap(tmp_path: Path) -> None:
    train = write(tmp_path, clean_lines())
    val_lines = [orjson.dumps(example(100 + i)) for i in range(3)]
    val_lines[1] = orjson.dumps(example(4))  # also training line 5
    val_lines.append(b'{"messages": []}')
    report = check_file(train, validation_path=write(tmp_path, val_lines, "val.jsonl"))
    issues = {(i.file, i.line, i.code) for i in report.errors + report.warnings}
    assert issues == {
        ("validation", 2, "warn.shared_with_validation"),
        ("validation", 4, "messages.missing"),
    }
    assert report.validation_examples == 4 and not report.ok


def test_issues_are_capped_per_rule_but_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_module, "MAX_ISSUES_PER_RULE", 3)
    lines = clean_lines() + [b"[]"] * 7
    report = check_file(write(tmp_path, lines))
    assert len(report.errors) == 3
    assert report.issue_counts["training"]["line.not_object"] == 7
    assert report.count("error") == 7


def leaking(amount: int) -> bytes:
    """Return an example whose prompt quotes the answer's price, ``$amount``."""
    return line(
        [
            {"role": "user", "content": f"How much? It was ${amount} last week"},
            {"role": "assistant", "content": f"Price is ${amount}.00"},
        ]
    )


def test_a_grouped_warning_quotes_each_lines_own_value(tmp_path: Path) -> None:
    lines = clean_lines(80)
    amounts = {13: 45, 39: 12, 75: 8, 76: 99, 77: 310, 78: 7}
    for number, amount in amounts.items():
        lines[number - 1] = leaking(amount)
    text = format_report(check_file(write(tmp_path, lines)))
    [group] = [row for row in text.splitlines() if row.strip().startswith("warn.price_leak")]
    assert group.startswith("  warn.price_leak: 6× the answer's price appears in the prompt: ")
    shown = list(amounts.items())[:5]
    for number, amount in shown:
        assert f"line {number}: the prompt contains '${amount}'" in group
    assert "line 78" not in group and group.endswith("; …")
    for number, amount in amounts.items():  # no line is given another line's amount
        for other in set(amounts.values()) - {amount}:
            assert f"line {number}: the prompt contains '${other}'" not in group


def test_a_group_of_identical_messages_quotes_it_once(tmp_path: Path) -> None:
    lines = clean_lines(12)
    lines[3] = lines[2]
    lines[7] = lines[2]
    text = format_report(check_file(write(tmp_path, lines)))
    assert "  warn.duplicate: 2× at lines 4, 8: same example as line 3" in text.splitlines()
