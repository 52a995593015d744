"""Exports: round trips per format, each trainer's rules, the support table, atomic writes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

import ftkit.exports
from ftkit.dataset.prepare import prepare
from ftkit.errors import ExportCheckError, OutputError, SourceError
from ftkit.exports import (
    FORMATS,
    RULES,
    check_split,
    export_paths,
    export_support,
    load_examples,
    read_export,
    read_parquet,
    write_export,
)


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], list[Any]]:
    """The built-in sample, prepared: 40 training and 10 validation examples."""
    out = tmp_path_factory.mktemp("prepared")
    result = prepare(out_dir=out, train=40, validation=10)
    assert result.validation_path is not None
    return load_examples(result.train_path), load_examples(result.validation_path)


def example(*turns: tuple[str, str], **extra: Any) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": role, "content": text} for role, text in turns]
    for index, fields in extra.items():
        messages[int(index.lstrip("m"))].update(fields)
    return {"messages": messages}


GOOD = example(("system", "You estimate prices."), ("user", "A lamp"), ("assistant", "$12.00"))


def many(count: int, base: dict[str, Any] = GOOD) -> list[dict[str, Any]]:
    return [copy.deepcopy(base) for _ in range(count)]


def test_public_surface() -> None:
    assert set(ftkit.exports.__all__) == {
        "AS_OF",
        "FORMATS",
        "RULES",
        "ChatMessage",
        "Conversation",
        "ExportResult",
        "FormatName",
        "FormatSupport",
        "TrainerRules",
        "check_split",
        "export_paths",
        "export_support",
        "support_table",
        "from_record",
        "load_examples",
        "read_export",
        "read_parquet",
        "to_record",
        "write_export",
    }
    assert FORMATS == (
        "openai-chat",
        "azure-openai",
        "together",
        "fireworks",
        "vertex-gemini",
        "bedrock",
        "hf-chat",
    )


def test_rules_table_has_a_doc_link_and_date_per_format() -> None:
    for name, rules in RULES.items():
        assert rules.format == name
        assert rules.doc_url.startswith("https://") and rules.as_of == "2026-11-26"


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("format", FORMATS)
def test_round_trip_gives_the_same_conversations(
    format: Any, split: tuple[list[Any], list[Any]], tmp_path: Path
) -> None:
    train, validation = split
    result = write_export(format, train, validation, out_dir=tmp_path)
    assert (result.examples, result.validation_examples) == (40, 10)
    assert all(path.is_file() for path in result.files)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in result.files)
    back_train, back_validation = read_export(format, tmp_path)
    assert back_train == [e["messages"] for e in train]
    assert back_validation == [e["messages"] for e in validation]


def test_round_trip_keeps_weights_where_the_format_takes_them(tmp_path: Path) -> None:
    weighted = example(
        ("system", "s"),
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
        m2={"weight": 0},
        m4={"weight": 1},
    )
    for format in ("openai-chat", "azure-openai", "together", "fireworks"):
        write_export(format, many(10, weighted), out_dir=tmp_path)
        train, validation = read_export(format, tmp_path)
        assert train == [weighted["messages"]] * 10 and validation == []


@pytest.mark.parametrize(
    ("format", "first_line"),
    [
        ("openai-chat", {"messages": GOOD["messages"]}),
        (
            "vertex-gemini",
            {
                "systemInstruction": {
                    "role": "system",
                    "parts": [{"text": "You estimate prices."}],
                },
                "contents": [
                    {"role": "user", "parts": [{"text": "A lamp"}]},
                    {"role": "model", "parts": [{"text": "$12.00"}]},
                ],
            },
        ),
        (
            "bedrock",
            {
                "schemaVersion": "bedrock-conversation-2024",
                "system": [{"text": "You estimate prices."}],
                "messages": [
                    {"role": "user", "content": [{"text": "A lamp"}]},
                    {"role": "assistant", "content": [{"text": "$12.00"}]},
                ],
            },
        ),
    ],
)
def test_records_have_the_documented_shape(
    format: Any, first_line: dict[str, Any], tmp_path: Path
) -> None:
    write_export(format, many(10), out_dir=tmp_path)
    lines = export_paths(format, tmp_path)["train"].read_bytes().splitlines()
    assert len(lines) == 10 and orjson.loads(lines[0]) == first_line


def test_vertex_and_bedrock_leave_out_an_absent_system_prompt(tmp_path: Path) -> None:
    bare = example(("user", "A lamp"), ("assistant", "$12.00"))
    for format, key in (("vertex-gemini", "systemInstruction"), ("bedrock", "system")):
        write_export(format, many(10, bare), out_dir=tmp_path)
        record = orjson.loads(export_paths(format, tmp_path)["train"].read_bytes().splitlines()[0])
        assert key not in record
        assert read_export(format, tmp_path)[0][0] == bare["messages"]


def test_hf_chat_parquet_loads_as_trl_conversations(
    split: tuple[list[Any], list[Any]], tmp_path: Path
) -> None:
    train, validation = split
    write_export("hf-chat", train, validation, out_dir=tmp_path)
    paths = export_paths("hf-chat", tmp_path)
    table = pq.read_table(paths["train_parquet"])
    assert table.column_names == ["messages"] and table.num_rows == 40
    rows = table.to_pylist()
    assert rows[0]["messages"] == train[0]["messages"]
    frame = pd.read_parquet(paths["validation_parquet"])
    assert list(frame.columns) == ["messages"] and len(frame) == 10
    first = list(frame["messages"].iloc[0])
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in first)
    assert read_parquet(paths["train_parquet"]) == [e["messages"] for e in train]


def test_reading_a_record_of_another_format_names_it(tmp_path: Path) -> None:
    write_export("openai-chat", many(10), out_dir=tmp_path)
    export_paths("bedrock", tmp_path)["train"].write_bytes(
        export_paths("openai-chat", tmp_path)["train"].read_bytes()
    )
    with pytest.raises(SourceError, match=r"bedrock_train\.jsonl: record 1 is not a bedrock"):
        read_export("bedrock", tmp_path)


# --- each trainer's rules ----------------------------------------------------------------

LONG = "x" * (140_000 * 4)  # about 140,000 tokens: over Vertex's 131,072 and Bedrock's 32,000

CASES: list[tuple[str, list[Any], list[Any] | None, str]] = [
    ("openai-chat", many(9), None, "9 training examples; OpenAI needs at least 10"),
    (
        "openai-chat",
        many(10, example(("user", "a <|endoftext|> b"), ("assistant", "1"))),
        None,
        "training example 1: message 1 (user) contains '<|endoftext|>', which OpenAI does not "
        "allow (and 9 more training examples)",
    ),
    (
        "openai-chat",
        many(10, example(("user", "q"), ("tool", "t"), ("assistant", "1"))),
        None,
        "message 2 has role 'tool'; exports carry only system, user and assistant messages",
    ),
    (
        "azure-openai",
        many(10, example(("user", "q"), ("assistant", "1"), m0={"weight": 1})),
        None,
        "message 1 (user) has a weight; Azure OpenAI takes weights on assistant messages",
    ),
    (
        "azure-openai",
        many(10, example(("user", "q"), ("assistant", "1"), m1={"weight": 2})),
        None,
        "message 2 has weight 2; it must be 0 or 1",
    ),
    (
        "together",
        many(10, example(("user", "q"), ("user", "q"), ("assistant", "1"))),
        None,
        "message 2 is user where Together AI needs assistant (turns must alternate, user first)",
    ),
    (
        "together",
        many(10, example(("user", "q"), ("system", "s"), ("assistant", "1"))),
        None,
        "message 2 is a system message; Together AI takes one only as the first message",
    ),
    ("fireworks", many(2), None, "2 training examples; Fireworks AI needs at least 3"),
    (
        "fireworks",
        many(5, example(("user", "q"), ("assistant", "1"), ("system", "s"))),
        None,
        "message 3 is a system message; Fireworks AI takes one only as the first message",
    ),
    (
        "vertex-gemini",
        [example(("user", LONG), ("assistant", "1")), *many(9)],
        None,
        "training example 1: about 140,001 tokens, over Vertex AI (Gemini)'s 131,072-token limit",
    ),
    (
        "vertex-gemini",
        many(10),
        many(5_001),
        "5,001 validation examples; Vertex AI (Gemini) takes at most 5,000",
    ),
    (
        "vertex-gemini",
        many(10, example(("user", "q"), ("assistant", "1"), m1={"weight": 1})),
        None,
        "message 2 has a weight, which Vertex AI (Gemini) does not take",
    ),
    (
        "vertex-gemini",
        many(10, example(("user", "q"), ("assistant", "1"), ("user", "q"))),
        None,
        "the last message is user; Vertex AI (Gemini) needs the assistant's answer last",
    ),
    ("bedrock", many(7), None, "7 training examples; Amazon Bedrock (Nova) needs at least 8"),
    (
        "bedrock",
        many(10),
        many(1_001),
        "1,001 validation examples; Amazon Bedrock (Nova) takes at most 1,000",
    ),
    (
        "bedrock",
        many(10, example(("user", "System: hi"), ("assistant", "1"))),
        None,
        "message 1 (user) contains 'System:', which Amazon Bedrock (Nova) does not allow",
    ),
    (
        "bedrock",
        many(10, example(("assistant", "1"), ("user", "q"), ("assistant", "1"))),
        None,
        "message 1 is assistant where Amazon Bedrock (Nova) needs user",
    ),
    (
        "hf-chat",
        many(10, example(("user", "q"), ("assistant", "1"), m1={"weight": 0})),
        None,
        "message 2 has a weight, which Hugging Face TRL (SFTTrainer) does not take",
    ),
    (
        "hf-chat",
        [{"messages": []}, *many(3)],
        None,
        'training example 1: the line needs a non-empty "messages" list',
    ),
    (
        "hf-chat",
        many(3, example(("user", "q"), ("assistant", ""))),
        None,
        "message 2 (assistant) content must be non-empty text",
    ),
    ("hf-chat", many(3, example(("user", "q"), ("user", "q"))), None, "no assistant message"),
]


@pytest.mark.parametrize(("format", "train", "validation", "reason"), CASES)
def test_checker_names_the_broken_rule(
    format: Any, train: list[Any], validation: list[Any] | None, reason: str
) -> None:
    support = check_split(format, train, validation)
    assert support["ok"] is False
    assert any(reason in line for line in support["reasons"]), support["reasons"]
    assert all("\n" not in line for line in support["reasons"])
    assert check_split(format, many(10), many(2))["ok"] is True


@pytest.mark.parametrize("format", ["together", "fireworks"])
def test_together_and_fireworks_take_weights_on_any_message(format: Any) -> None:
    weighted = example(
        (
            "system",
            "s",
        ),
        ("user", "q"),
        ("assistant", "1"),
        m1={"weight": 0},
    )
    assert check_split(format, many(10, weighted))["ok"] is True
    assert check_split("openai-chat", many(10, weighted))["ok"] is False


def test_bedrock_reserved_words_apply_to_prompts_not_answers() -> None:
    answer = example(("user", "q"), ("assistant", "Assistant: $1"))
    assert check_split("bedrock", many(10, answer))["ok"] is True


def test_file_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    small = replace(RULES["azure-openai"], max_file_bytes=2048)
    monkeypatch.setitem(RULES, "azure-openai", small)
    line = len(orjson.dumps(GOOD)) + 1
    assert check_split("azure-openai", many(2048 // line))["ok"] is True
    reasons = check_split("azure-openai", many(40))["reasons"]
    size = f"{40 * line / 1024:.1f} KB"
    assert reasons == [f"the training file would be {size}, over Azure OpenAI's 2 KB limit"]


# --- the support table -------------------------------------------------------------------


def test_export_support_says_which_trainer_takes_what() -> None:
    train = many(20)
    train[11] = example(("user", "x" * 130_000), ("assistant", "1"))  # about 32,500 tokens
    rows = export_support(train, many(3))
    assert [row["format"] for row in rows] == list(FORMATS)
    by_format = {row["format"]: row for row in rows}
    assert by_format["bedrock"]["ok"] is False
    assert by_format["bedrock"]["reasons"] == [
        "training example 12: about 32,501 tokens, over Amazon Bedrock (Nova)'s 32,000-token "
        "limit (estimated at 4 characters a token)"
    ]
    assert by_format["bedrock"]["doc_url"] == RULES["bedrock"].doc_url
    assert all(by_format[name]["ok"] for name in FORMATS if name != "bedrock")
    assert all(row["reasons"] == [] for row in rows if row["ok"])


def test_export_support_groups_a_rule_into_one_line() -> None:
    train = many(30, example(("user", "q"), ("assistant", "1"), m1={"weight": 1}))
    row = export_support(train)[FORMATS.index("vertex-gemini")]
    assert row["reasons"] == [
        "training example 1: message 2 has a weight, which Vertex AI (Gemini) does not take "
        "(and 29 more training examples)"
    ]


def test_problems_group_by_rule_with_the_count_first() -> None:
    train = [example(("user", "q"), ("assistant", "1"), m1={"weight": 5, "name": "n"})] * 2
    train += [{"messages": [{"role": f"r{i}", "content": "c"}]} for i in range(3)]
    reasons = check_split("openai-chat", train)["reasons"]
    assert len(reasons) == 4 and reasons[0].startswith("5 training examples")


# --- atomic writes -----------------------------------------------------------------------


def test_a_rejected_split_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ExportCheckError) as caught:
        write_export("bedrock", many(7), out_dir=out)
    assert caught.value.reasons == ["7 training examples; Amazon Bedrock (Nova) needs at least 8"]
    assert str(caught.value).count("\n") == 0
    assert not out.exists()


def test_a_failed_write_keeps_the_previous_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_export("hf-chat", many(10), many(2), out_dir=tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", disk_full)
    other = many(12, example(("user", "other"), ("assistant", "2")))
    with pytest.raises(OutputError, match="No space left on device"):
        write_export("hf-chat", other, many(3), out_dir=tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_directory_in_the_way_writes_nothing(tmp_path: Path) -> None:
    write_export("together", many(10), out_dir=tmp_path)
    before = export_paths("together", tmp_path)["train"].read_bytes()
    export_paths("together", tmp_path)["validation"].mkdir()
    with pytest.raises(OutputError, match="is in the way"):
        write_export("together", many(11), many(2), out_dir=tmp_path)
    assert export_paths("together", tmp_path)["train"].read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "together_train.jsonl",
        "together_validation.jsonl",
    ]


def test_an_old_validation_file_is_reported_not_deleted(tmp_path: Path) -> None:
    write_export("fireworks", many(10), many(2), out_dir=tmp_path)
    result = write_export("fireworks", many(10), out_dir=tmp_path)
    assert result.notes == [
        "fireworks_validation.jsonl is from an earlier export; this one has no validation split"
    ]
    assert export_paths("fireworks", tmp_path)["validation"].exists()
