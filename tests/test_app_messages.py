"""The Messages page: the table of examples, search and filters, and one example in full."""

from __future__ import annotations

import orjson
from apptest_support import assert_clean, goto, open_app

from ftkit.dataset.messages import DEFAULT_SYSTEM_PROMPT
from ftkit.dataset.stats import BAND_ORDER
from ftkit.ui import state


def test_the_table_lists_every_example_with_tokens() -> None:
    at = open_app("messages")
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "example",
        "split",
        "system",
        "user",
        "assistant",
        "tokens",
        "price",
        "band",
    ]
    assert len(table) == 550
    assert (table["tokens"] > 20).all()
    assert table["assistant"].str.fullmatch(r"Price is \$\d+\.\d\d").all()
    assert any(c.value.startswith("550 of 550 examples") for c in at.caption)


def test_search_and_filters_narrow_the_table() -> None:
    at = open_app("messages")
    table = at.dataframe[0].value
    needle = table["user"].iloc[3].splitlines()[2][:40]  # the title line
    at.text_input(key="messages_search").input(needle.upper()).run()  # any case
    found = at.dataframe[0].value
    assert 1 <= len(found) < 550
    assert found["user"].str.contains(needle, regex=False).all()
    at.text_input(key="messages_search").input("").run()
    at.multiselect(key="messages_split").select("validation").run()
    assert set(at.dataframe[0].value["split"]) == {"validation"}
    assert len(at.dataframe[0].value) == 50


def test_nothing_matching_says_so() -> None:
    at = open_app("messages")
    at.text_input(key="messages_search").input("no such words anywhere zzqx").run()
    assert_clean(at)
    assert any("No example matches" in i.value for i in at.info)


def test_the_system_prompt_is_shown_once_above_the_table_not_in_every_row() -> None:
    at = open_app("messages")
    assert at.text[0].value == DEFAULT_SYSTEM_PROMPT
    listed = list(at.dataframe[0].proto.column_order)
    assert listed == ["example", "split", "user", "assistant", "tokens", "price", "band"]


def test_the_detail_view_shows_the_first_listed_example_until_a_row_is_picked() -> None:
    at = open_app("messages")
    assert_clean(at)
    assert at.subheader[0].value == "Train example #1"
    roles = [m.name for m in at.chat_message]
    assert roles == ["system", "user", "assistant"]
    assert at.chat_message[0].text[0].value == DEFAULT_SYSTEM_PROMPT


def test_the_picked_row_is_shown_in_full_and_kept_across_pages() -> None:
    at = open_app("messages")
    at.session_state[state.MESSAGES_EXAMPLE] = 500  # what clicking validation #1 keeps
    at.run()
    assert_clean(at)
    assert at.subheader[0].value == "Validation example #1"
    line = orjson.loads(at.code[0].value)
    assert [m["role"] for m in line["messages"]] == ["system", "user", "assistant"]
    table = at.dataframe[0].value
    assert line["messages"][1]["content"] == table["user"].iloc[500]
    goto(at, "compose")
    goto(at, "messages")
    assert at.subheader[0].value == "Validation example #1"


def test_a_picked_row_filtered_out_gives_way_to_the_first_listed() -> None:
    at = open_app("messages")
    at.session_state[state.MESSAGES_EXAMPLE] = 500
    at.multiselect(key="messages_split").select("train").run()
    assert at.subheader[0].value == "Train example #1"


def test_search_and_filters_are_kept_across_pages() -> None:
    at = open_app("messages")
    at.text_input(key="messages_search").input("sony").run()
    at.multiselect(key="messages_split").select("train").run()
    at.multiselect(key="messages_band").select(BAND_ORDER[1]).run()
    goto(at, "check")
    goto(at, "messages")
    assert at.text_input(key="messages_search").value == "sony"
    assert at.multiselect(key="messages_split").value == ["train"]
    assert at.multiselect(key="messages_band").value == [BAND_ORDER[1]]
    assert any("search hits in amber" in c.value for c in at.caption)


def test_a_leaking_template_marks_the_rows_that_show_the_price() -> None:
    at = open_app("compose")
    at.text_area(key="compose_user").input("{title}. It costs ${price:.2f}").run()
    goto(at, "messages")
    assert_clean(at)
    assert any("550 listed user messages hold the answer's price" in w.value for w in at.warning)


def test_the_page_ends_with_the_next_step() -> None:
    at = open_app("messages")
    assert [link.value for link in at.page_link] == ["Next: Check"]
