"""Token counts equal tiktoken's by OpenAI's recipe; stats; the tiktoken-unavailable path."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import orjson
import pytest
import tiktoken
import tiktoken.registry

from ftkit.cli import main
from ftkit.preflight.scan import check_file
from ftkit.preflight.tokens import (
    Tokenizer,
    TokenStats,
    count_example,
    get_tokenizer,
    percentile,
    summarize,
)

FIXTURES: list[list[dict[str, Any]]] = [
    [
        {"role": "system", "content": "You estimate prices of items."},
        {"role": "user", "content": "How much does this cost?\n\nA kettle, 1.7 l, steel"},
        {"role": "assistant", "content": "Price is $226.00"},
    ],
    [
        {"role": "user", "content": "héllo wörld ✓ 价格", "name": "ann"},
        {"role": "assistant", "content": "Price is $0.99", "weight": 1},
    ],
    [
        {
            "role": "user",
            "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "parts"}],
        },
        {"role": "assistant", "content": "<|endoftext|> counted as text"},
    ],
]


def recipe(messages: list[dict[str, Any]], encoding: tiktoken.Encoding) -> int:
    """OpenAI's published recipe, written out independently with bare tiktoken."""
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            if key == "weight":
                continue
            if isinstance(value, list):
                value = "".join(part["text"] for part in value)
                total += sum(len(encoding.encode_ordinary(p["text"])) for p in message[key])
                total -= len(encoding.encode_ordinary(value))
            total += len(encoding.encode_ordinary(value))
            total += 1 if key == "name" else 0
    return total


@pytest.mark.tiktoken
@pytest.mark.parametrize("encoding_name", ["o200k_base", "cl100k_base"])
@pytest.mark.parametrize("messages", FIXTURES)
def test_count_example_equals_tiktoken(encoding_name: str, messages: list[dict[str, Any]]) -> None:
    tokenizer = get_tokenizer(encoding_name)
    assert not tokenizer.approximate
    encoding = tiktoken.get_encoding(encoding_name)
    total, assistant = count_example(messages, tokenizer)
    assert total == recipe(messages, encoding)
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    assert assistant == sum(len(encoding.encode_ordinary(a)) for a in answers)


@pytest.mark.tiktoken
@pytest.mark.parametrize("model", ["gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125"])
def test_check_file_totals_equal_tiktoken(tmp_path: Path, model: str) -> None:
    rows = [FIXTURES[i % 2] for i in range(4)] + [
        [{"role": "user", "content": f"item {i}"}, {"role": "assistant", "content": f"${i}"}]
        for i in range(8)
    ]
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps({"messages": r}) for r in rows))
    report = check_file(path, model=model)
    encoding = tiktoken.get_encoding("o200k_base" if "4o" in model else "cl100k_base")
    per_example = sorted(recipe(r, encoding) for r in rows)
    assert report.tokens == summarize(per_example)
    assert report.tokens.total == sum(per_example) and not report.approximate


@pytest.mark.tiktoken
def test_course_file_tokens_equal_tiktoken(shared_dir: Path) -> None:
    path = shared_dir / "fixtures" / "course-jsonl" / "fine_tune_train.jsonl"
    if not path.exists():
        pytest.skip("course fixture absent")
    encoding = tiktoken.get_encoding("o200k_base")
    rows = [orjson.loads(line)["messages"] for line in path.read_bytes().splitlines()]
    report = check_file(path)
    assert report.tokens.total == sum(recipe(r, encoding) for r in rows)
    assert report.assistant_tokens.total == sum(
        len(encoding.encode_ordinary(m["content"]))
        for r in rows
        for m in r
        if m["role"] == "assistant"
    )


@pytest.mark.tiktoken
@pytest.mark.parametrize("encoding_name", ["o200k_base", "cl100k_base"])
def test_the_approximation_is_within_five_percent_on_course_data(
    shared_dir: Path, encoding_name: str
) -> None:
    path = shared_dir / "fixtures" / "course-jsonl" / "fine_tune_train.jsonl"
    if not path.exists():
        pytest.skip("course fixture absent")
    rows = [orjson.loads(line)["messages"] for line in path.read_bytes().splitlines()]
    real = sum(count_example(r, get_tokenizer(encoding_name))[0] for r in rows)
    estimate = sum(count_example(r, Tokenizer(encoding_name))[0] for r in rows)
    assert abs(estimate - real) <= 0.05 * real  # four characters a token was 10-15% over


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], TokenStats()),
        ([7], TokenStats(7, 7, 7, 7, 7, 7)),
        (list(range(10, 0, -1)), TokenStats(55, 1, 1, 5, 9, 10)),
        (list(range(1, 21)), TokenStats(210, 1, 2, 10, 18, 20)),
        ([5, 1, 3], TokenStats(9, 1, 1, 3, 5, 5)),
    ],
)
def test_nearest_rank_stats(values: list[int], expected: TokenStats) -> None:
    assert summarize(values) == expected


def test_percentile_is_always_a_value() -> None:
    data = [10, 20, 30, 40]
    assert [percentile(data, p) for p in (0, 10, 25, 26, 50, 75, 90, 100)] == [
        10,
        10,
        10,
        20,
        20,
        30,
        40,
        40,
    ]


@pytest.fixture
def no_tiktoken_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty tiktoken cache, no cached encodings in-process, and no network at all."""
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(empty))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.usefixtures("no_tiktoken_download")
def test_tiktoken_unavailable_gives_one_clear_line_and_approximate_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokenizer = get_tokenizer("o200k_base")
    assert tokenizer.approximate and tokenizer.notice is not None
    assert "TIKTOKEN_CACHE_DIR" in tokenizer.notice and "\n" not in tokenizer.notice
    assert tokenizer.count("Price is $226.00") == 6  # Price, is, $, 226, ., 00

    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps({"messages": FIXTURES[0]}) for _ in range(10)))
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    notes = [line for line in out.splitlines() if "TIKTOKEN_CACHE_DIR" in line]
    assert len(notes) == 1 and "approximate" in notes[0]
    assert "estimated training cost (approximate) $" in out
    assert "Traceback" not in out + err

    assert main(["validate", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    data = orjson.loads(out)
    assert data["approximate"] is True and "TIKTOKEN_CACHE_DIR" in data["notice"]
    assert data["estimated_cost_usd"] > 0
    assert len(err.strip().splitlines()) == 1 and "TIKTOKEN_CACHE_DIR" in err
