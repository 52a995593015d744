from __future__ import annotations

import pytest

from benchmarks import course
from ftkit.errors import TemplateError
from ftkit.items import Item
from ftkit.messages import (
    Templates,
    encode_examples,
    leaked_fields,
    lecture_prompt,
    render_examples,
    render_messages,
)


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
    ],
)
def test_bad_templates_name_the_field(user: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        Templates(user=user)


@pytest.mark.parametrize(
    ("user", "leaks"),
    [("{lecture_prompt}", []), ("{title} costs {price}", ["price"]), ("{prompt}", ["prompt"])],
)
def test_price_leak_is_flagged(user: str, leaks: list[str]) -> None:
    assert leaked_fields(Templates(user=user)) == leaks


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
def test_encoded_lines_equal_encoding_each_example(templates: Templates) -> None:
    import orjson

    items = [
        Item(
            title="Kettle",
            price=26.0,
            prompt='Q to the nearest dollar?\n\nKettle "2L" ☃\n\nPrice is $26.00',
        ),
        Item(title="Lamp", price=7, prompt="Lamp\\n\tbright"),
        *[Item(title=f"t{i}", price=i + 0.5, prompt=f"p{i}\n\nPrice is $1.00") for i in range(600)],
    ]
    encoded = b"".join(encode_examples(items, templates))
    expected = b"".join(
        orjson.dumps(example, option=orjson.OPT_APPEND_NEWLINE)
        for example in render_examples(items, templates)
    )
    assert encoded == expected
    assert len(encoded.splitlines()) == len(items)
