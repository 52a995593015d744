from __future__ import annotations

import json

import orjson
import pytest

from benchmarks import course
from ftkit.dataset.messages import (
    DEFAULT_SYSTEM_PROMPT,
    Templates,
    encode_examples,
    leaked_fields,
    lecture_prompt,
    render_examples,
    render_messages,
)
from ftkit.errors import TemplateError
from ftkit.items import QUESTION, Item


def test_default_template_reproduces_the_lecture_exactly() -> None:
    for original in course.make_items(20, seed=3):
        item = Item(original.title, original.price, original.category, original.details)
        item.prompt = original.prompt
        assert render_messages(item) == course.messages_for(original)


def test_lecture_example_from_the_notebook() -> None:
    item = Item(
        title="Delphi FG0166 Fuel Pump Module",
        price=226.95,
        prompt=(
            "How much does this cost to the nearest dollar?\n\n"
            "Delphi FG0166 Fuel Pump Module\nDelphi brings 80 years...\n\nPrice is $227.00"
        ),
    )
    assert render_messages(item) == [
        {
            "role": "system",
            "content": "You estimate prices of items. Reply only with the price, no explanation",
        },
        {
            "role": "user",
            "content": "How much does this cost?\n\n"
            "Delphi FG0166 Fuel Pump Module\nDelphi brings 80 years...",
        },
        {"role": "assistant", "content": "Price is $226.95"},
    ]


def test_custom_templates_fill_item_fields() -> None:
    item = Item(
        title="Kettle", price=26.0, category="Kitchen", prompt="Q\n\nKettle\n\nPrice is $26.00"
    )
    templates = Templates(system="Be brief", user="{category}: {title}", assistant="${price:.0f}")
    messages = next(render_examples([item], templates))["messages"]
    assert [m["content"] for m in messages] == ["Be brief", "Kitchen: Kettle", "$26"]


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("{nope}", "unknown field {nope}"),
        ("{title", "braces"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("{title:>50000000}", "{title:>50000000}: the width is over 1,000"),
        ("{title:.5000}", "{title:.5000}: the precision is over 1,000"),
        pytest.param("{title:" + "9" * 5000 + "}", "the width is over", id="5000-digit width"),
        ("{title.__class__}", "{title.__class__}: only plain fields are allowed"),
        ("{title[0]}", "{title[0]}: only plain fields are allowed"),
        ("{title!r}", "{title!r}: conversions (!r, !s, !a) are not allowed"),
        ("{unknown}", "unknown field {unknown}; available: lecture_prompt"),
        ("{__class__}", "unknown field {__class__}"),
        ("{}", "{} needs a field name"),
        ("{0}", "unknown field {0}"),
        ("{title:{width}}", "a format spec cannot hold another field"),
        ("{title:.2f}", "{title:.2f}: Unknown format code 'f'"),
        ("{price:>10!}", "not a plain format spec"),
        ("{title}" * 21, "21 fields; at most 20"),
        pytest.param("x" * 10_001, "longer than 10,000 characters", id="10,001 characters"),
    ],
)
def test_bad_templates_are_one_line_naming_the_template(user: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Templates(user=user)
    text = str(caught.value)
    assert text.startswith("user template: ") and message in text and "\n" not in text
    assert len(text) < 200


@pytest.mark.parametrize(
    "assistant",
    [
        "{price:.2f}",
        "{price:,.2f}",
        "{price:08.2f}",
        "{price:=+10.2f}",
        "{title:*^30} costs {{not a field}}",
        "{title:<1000.1000}",
        "{category:x>12}",
        "Price is ${price:.2f}",
    ],
)
def test_plain_format_specs_and_literal_braces_are_allowed(assistant: str) -> None:
    item = Item(title="Kettle", price=26.0, category="Kitchen", prompt="Q\n\nKettle")
    [content] = [
        m["content"]
        for m in render_messages(item, Templates(assistant=assistant))
        if m["role"] == "assistant"
    ]
    assert content == assistant.format(price=26.0, title="Kettle", category="Kitchen")


@pytest.mark.parametrize("system", ["", "   ", "\n\t"])
def test_an_empty_system_prompt_is_refused(system: str) -> None:
    with pytest.raises(TemplateError, match=r"^system prompt: is empty"):
        Templates(system=system)


@pytest.mark.parametrize(
    ("user", "leaks"),
    [("{lecture_prompt}", []), ("{title} costs {price}", ["price"]), ("{prompt}", ["prompt"])],
)
def test_price_leak_is_flagged(user: str, leaks: list[str]) -> None:
    assert leaked_fields(Templates(user=user)) == leaks


_ODD_PROMPTS = {
    "backslash before the price line": f"{QUESTION}\n\nPipe 1/2\\\n\nPrice is $5.00",
    "escaped newline look-alike": f"{QUESTION}\n\nPipe \\n\\n\n\nPrice is $5.00",
    "no price line": f"{QUESTION}\n\nKettle",
    "two price lines": f"{QUESTION}\n\nKettle\n\nPrice is $5.00\n\nPrice is $6.00",
    "price line inside the text": f"{QUESTION}\n\nPrice is $9 deal\n\nPrice is $5.00",
    "the phrase in the text": f"{QUESTION}\n\nRounded to the nearest dollar\n\nPrice is $5.00",
    "removal makes a price line": (
        f"{QUESTION}\n\nX\n\nPrice to the nearest dollar is $1\n\nPrice is $5.00"
    ),
    "phrase right before the price line": f"{QUESTION}\n\nX to the nearest dollar\n\nPrice is $1",
    "quotes, breaks and symbols": f'{QUESTION}\n\nA","b" ☃ \x01\t\u2028 "","\n\nPrice is $5.00',
    "no question": "Kettle 2L\n\nPrice is $5.00",
    "the phrase but no question": "Kettle, rounded to the nearest dollar?\n\nPrice is $5.00",
    "no blank line before the price": f"{QUESTION}\n\nKettle Price is $5.00",
    "empty text": f"{QUESTION}\n\nPrice is $5.00",
    "no text at all": f"{QUESTION}Price is $5.00",
    "one newline after the question": f"{QUESTION}\nPrice is $5.00",
    "three newlines": f"{QUESTION}\n\nKettle\n\n\nPrice is $5.00",
    "nothing after the prefix": f"{QUESTION}\n\nKettle\n\nPrice is $",
    "only the question": QUESTION,
    "the question twice": f"{QUESTION}{QUESTION}\n\nPrice is $5.00",
}


@pytest.mark.parametrize(
    "prompt",
    [
        "How much does this cost to the nearest dollar?\n\nLamp\n\nPrice is $3.00",
        "How much does this cost to the nearest dollar?\n\nLamp\nPrice is $3.00",
        "No prefix at all",
        "Odd\n\n to the nearest dollarPrice is $1",
        "Pri to the nearest dollarce is $ trick\n\nPrice is $2.00",
        "\n\nPrice is $",
        "",
        *_ODD_PROMPTS.values(),
    ],
)
def test_lecture_prompt_equals_the_lectures_expression(prompt: str) -> None:
    item = Item(title="t", price=1.0, prompt=prompt)
    expected = (
        item.test_prompt().replace(" to the nearest dollar", "").replace("\n\nPrice is $", "")
    )
    assert lecture_prompt(item) == expected
    assert next(render_examples([item]))["messages"][1]["content"] == expected


@pytest.mark.parametrize(
    "templates",
    [
        Templates(),
        Templates(system='Say "only" the price — in $, ☃ \\ okay\n'),
        Templates(user="{title}: {text}", assistant="${price:.0f}"),
    ],
)
def test_encoded_lines_are_one_strict_json_example_per_item(templates: Templates) -> None:
    items = [
        Item(
            title="Kettle",
            price=26.0,
            prompt='Q to the nearest dollar?\n\nKettle "2L" ☃\n\nPrice is $26.00',
        ),
        Item(title="Lamp", price=7, prompt="Lamp\\n\tbright\u2028"),
        *[Item(title=f"t{i}", price=i + 0.5, prompt=f"p{i}\n\nPrice is $1.00") for i in range(600)],
    ]
    encoded = b"".join(encode_examples(items, templates))
    assert encoded.endswith(b"\n")
    lines = encoded.split(b"\n")[:-1]
    assert [json.loads(line) for line in lines] == list(render_examples(items, templates))


def test_the_lectures_lines_hold_the_lectures_messages() -> None:
    """Line for line, the file holds what the lecture's own ``make_jsonl`` writes."""
    originals = course.make_items(600, seed=4)
    items = []
    for original in originals:
        item = Item(original.title, original.price, original.category, original.details)
        item.prompt = original.prompt
        items.append(item)
    ours = b"".join(encode_examples(items)).decode().splitlines()
    theirs = course.make_jsonl(originals).splitlines()
    assert [json.loads(line) for line in ours] == [json.loads(line) for line in theirs]


@pytest.mark.parametrize("case", sorted(_ODD_PROMPTS))
@pytest.mark.parametrize(
    "system", [DEFAULT_SYSTEM_PROMPT, "100% sure? Price is $ to the nearest dollar \\n ☃"]
)
def test_encoded_lines_equal_encoding_each_example(case: str, system: str) -> None:
    """The lecture's lines, put together from fixed pieces, are the bytes of each example."""
    templates = Templates(system=system)
    items = [
        Item(title="a", price=5.25, prompt=_ODD_PROMPTS[case]),
        Item(title="b", price=12, prompt=f"{QUESTION}\n\nKettle\n\nPrice is $12.00"),
        Item(title="c", price=1e20, prompt=_ODD_PROMPTS[case]),
    ] * 100
    expected = b"".join(
        orjson.dumps(example, option=orjson.OPT_APPEND_NEWLINE)
        for example in render_examples(items, templates)
    )
    assert b"".join(encode_examples(items, templates)) == expected
