"""The Messages page: the table of examples, search and filters, and one example in full."""

from __future__ import annotations

import orjson
from apptest_support import assert_clean, goto, open_app

from ftkit.dataset.messages import DEFAULT_SYSTEM_PROMPT


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


def test_the_detail_view_shows_one_example_in_full() -> None:
    at = open_app("messages")
    at.selectbox(key="messages_detail").select(500).run()  # validation #1
    assert_clean(at)
    roles = [m.name for m in at.chat_message]
    assert roles == ["system", "user", "assistant"]
    assert at.chat_message[0].text[0].value == DEFAULT_SYSTEM_PROMPT
    line = orjson.loads(at.code[0].value)
    assert [m["role"] for m in line["messages"]] == roles
    table = at.dataframe[0].value
    assert line["messages"][1]["content"] == table["user"].iloc[500]
    goto(at, "messages")
