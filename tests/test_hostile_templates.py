"""Hostile templates (issue 16 item 4): only the documented fields, plain and bounded specs.

Every conversion, index and attribute is refused; every width and precision is at most
``MAX_WIDTH``; an accepted template's output is bounded; the CLI refuses in one line and
writes nothing.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ftkit.cli import main
from ftkit.dataset.messages import FIELDS, Templates, render_messages
from ftkit.dataset.templates import MAX_FIELDS, MAX_WIDTH
from ftkit.errors import TemplateError
from ftkit.items import Item

ITEM = Item(
    title="Kettle",
    price=26.0,
    category="Kitchen",
    details="1.7 litres",
    prompt="How much does this cost?\n\nKettle\n1.7 litres\n\nPrice is $26.00",
)


def refusal(user: str) -> str:
    """Return the one line a user template is refused with."""
    with pytest.raises(TemplateError) as caught:
        Templates(user=user)
    message = str(caught.value)
    assert message.startswith("user template: ") and "\n" not in message and len(message) < 300
    return message


ACCESS = ["!r", "!s", "!a", "!r:>10", ".__class__", ".__class__.__mro__", "[0]", "['x']", ".x[0]"]


@pytest.mark.parametrize(
    ("field", "access"), list(itertools.product(FIELDS, ACCESS)), ids=lambda value: value
)
def test_every_conversion_index_and_attribute_is_refused(field: str, access: str) -> None:
    message = refusal(f"{{{field}{access}}}")
    assert "not allowed" in message or "only plain fields" in message


OVER = [
    ">1001",
    "1001",
    "01001",
    "x^99999999",
    "<" + "9" * 400,
    ".1001",
    ">10.1001",
    "+099999.2f",
    ",.1001f",
    "_.1001e",
    ".99999999999999999999999",
    "=+0001001.2f",
    "\n>5000",
    "9>2000",
]


@pytest.mark.parametrize("spec", OVER, ids=lambda value: value.encode("unicode_escape").decode())
def test_every_width_and_precision_over_the_bound_is_refused(spec: str) -> None:
    field = "price" if spec[-1] in "fe+" or spec.startswith((",", "_", "=")) else "title"
    assert f"is over {MAX_WIDTH:,}" in refusal(f"{{{field}:{spec}}}")


@pytest.mark.parametrize(
    "spec",
    [">١٠", ">١٠٠٠٠", ".٥", "０>１０", "{width}", ">{0}", "%s", ">10s!", "10 10", "==5", "<<<"],
    ids=lambda value: value.encode("unicode_escape").decode(),
)
def test_specs_outside_the_plain_mini_language_are_refused(spec: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Templates(user=f"{{title:{spec}}}")
    assert str(caught.value).startswith("user template: ") and "\n" not in str(caught.value)


FILLS = ["", "x", "0", " "]
ALIGNS = ["", "<", ">", "^", "="]
SIGNS = ["", "+", "-", " "]
WIDTHS = ["", "0", "7", "1000", "1001", "99999999"]
PRECISIONS = ["", ".0", ".3", ".1000", ".1001"]
TYPES = ["", "s", "f", "e", "%", "g", "n", "d", "x"]


def _specs() -> list[str]:
    """Return format specs drawn from the mini-language, including oversized ones."""
    specs = []
    for fill, align, sign, width, precision, kind in itertools.product(
        FILLS, ALIGNS, SIGNS, WIDTHS, PRECISIONS, TYPES
    ):
        if fill and not align:
            continue
        specs.append(f"{fill}{align}{sign}{width}{precision}{kind}")
    return specs


@pytest.mark.parametrize("field", ["title", "price", "lecture_prompt"])
def test_an_accepted_template_renders_a_bounded_message(field: str) -> None:
    value_chars = len(str(render_messages(ITEM, Templates(user=f"{{{field}}}"))[1]["content"]))
    accepted = 0
    for spec in _specs():
        template = f"{{{field}:{spec}}}"
        try:
            templates = Templates(user=template)
        except TemplateError as err:
            assert "\n" not in str(err)
            continue
        accepted += 1
        content = render_messages(ITEM, templates)[1]["content"]
        assert len(content) <= max(value_chars, MAX_WIDTH) + 20, template
    assert accepted > 100


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("{ti\ntle}", "unknown field {ti\\ntle}"),
        ("{" + "a" * 5000 + "}", "unknown field {" + "a" * 40 + "…}"),
        ("{title:\n>5000}", "{title:\\n>5000}: the width is over"),
        ("{title!\n}", "{title!\\n}: conversions"),
        ("{title:" + "x" * 5000 + "}", "{title:" + "x" * 34 + "…}: not a plain format spec"),
    ],
    ids=["newline in a name", "long name", "newline fill", "newline conversion", "long spec"],
)
def test_the_refusal_shows_the_field_on_one_short_line(user: str, message: str) -> None:
    assert message in refusal(user)


def test_the_most_a_template_can_write_is_bounded() -> None:
    widest = "{title:>1000}" * MAX_FIELDS
    content = render_messages(ITEM, Templates(user=widest))[1]["content"]
    assert len(content) == MAX_FIELDS * MAX_WIDTH
    assert "21 fields; at most 20" in refusal(widest + "{title}")


def test_a_price_loaded_as_a_whole_number_fills_a_float_spec() -> None:
    item = Item(title="Kettle", price=26, prompt="Q\n\nKettle\n\nPrice is $26.00")
    assistant = render_messages(item, Templates(assistant="{price:.3}|{price:z.2f}|{price:e}"))[2]
    assert assistant["content"] == "26.0|26.00|2.600000e+01"


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--user-template", "{title:>1001}", "user template: {title:>1001}: the width is over"),
        ("--user-template", "{price:.99999}", "the precision is over 1,000"),
        ("--user-template", "{title!a}", "user template: {title!a}: conversions"),
        ("--user-template", "{details[0]}", "user template: {details[0]}: only plain fields"),
        ("--user-template", "{prompt.__doc__}", "user template: {prompt.__doc__}: only plain"),
        ("--user-template", "{item}", "user template: unknown field {item}"),
        ("--assistant-template", "{price:<١٠}", "assistant template: {price:<١٠}: not a plain"),
        ("--assistant-template", "", "assistant template: is empty"),
        ("--system-prompt", "", "system prompt: is empty"),
        ("--system-prompt", "\n \t", "system prompt: is empty"),
    ],
)
def test_the_cli_refuses_a_hostile_template_in_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    out_dir = tmp_path / "out"
    code = main(["prepare", "--out", str(out_dir), "--no-history", flag, value])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("ftkit: error: ") and err.count("\n") == 1 and message in err
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
