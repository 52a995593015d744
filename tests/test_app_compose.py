"""The Compose page: the prompt and templates, sizes, sampling, reset, and what they change."""

from __future__ import annotations

import pytest
from apptest_support import assert_clean, errors, goto, metrics, open_app

from ftkit.dataset.messages import DEFAULT_SYSTEM_PROMPT
from ftkit.ui import state


@pytest.fixture(autouse=True)
def local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)


def test_compose_opens_with_the_lectures_settings() -> None:
    at = open_app("compose")
    assert_clean(at)
    assert at.text_area(key="compose_system").value == DEFAULT_SYSTEM_PROMPT
    assert metrics(at)["Train"] == "500"
    assert metrics(at)["Validation"] == "50"
    first = at.chat_message[0]
    assert first.name == "system" and first.text[0].value == DEFAULT_SYSTEM_PROMPT
    assert at.chat_message[2].text[0].value.startswith("Price is $")
    assert len(at.get("vega_lite_chart")) == 1  # train vs validation by price band


def test_editing_the_system_prompt_updates_the_table() -> None:
    at = open_app("messages")
    assert set(at.dataframe[0].value["system"]) == {DEFAULT_SYSTEM_PROMPT}
    goto(at, "compose")
    at.text_area(key="compose_system").input("Guess the price in dollars.").run()
    assert at.chat_message[0].text[0].value == "Guess the price in dollars."
    goto(at, "messages")
    assert_clean(at)
    assert set(at.dataframe[0].value["system"]) == {"Guess the price in dollars."}
    assert at.session_state[state.SYSTEM_PROMPT] == "Guess the price in dollars."
    goto(at, "compose")  # the editor still holds the edit after a round trip
    assert at.text_area(key="compose_system").value == "Guess the price in dollars."


def test_changing_the_sizes_changes_the_counts() -> None:
    at = open_app("compose")
    at.number_input(key="compose_train").set_value(120)
    at.number_input(key="compose_validation").set_value(30).run()
    assert_clean(at)
    assert metrics(at)["Train"] == "120" and metrics(at)["Validation"] == "30"
    goto(at, "messages")
    table = at.dataframe[0].value
    assert (table["split"] == "train").sum() == 120
    assert (table["split"] == "validation").sum() == 30


@pytest.mark.parametrize("strategy", ["random", "stratified"])
def test_seeded_strategies_draw_a_different_but_repeatable_split(strategy: str) -> None:
    at = open_app("messages")
    first_user = at.dataframe[0].value["user"].iloc[0]
    goto(at, "compose")
    at.selectbox(key="compose_strategy").select(strategy).run()
    goto(at, "messages")
    drawn = list(at.dataframe[0].value["user"])
    assert drawn[0] != first_user
    goto(at, "compose")
    at.number_input(key="compose_seed").set_value(7).run()
    goto(at, "messages")
    assert list(at.dataframe[0].value["user"]) != drawn
    goto(at, "compose")
    at.number_input(key="compose_seed").set_value(42).run()
    goto(at, "messages")
    assert list(at.dataframe[0].value["user"]) == drawn


def test_reset_restores_the_lectures_settings() -> None:
    at = open_app("compose")
    at.text_area(key="compose_system").input("Something else")
    at.number_input(key="compose_train").set_value(10).run()
    at.button(key="compose_reset").click().run()
    assert_clean(at)
    assert at.text_area(key="compose_system").value == DEFAULT_SYSTEM_PROMPT
    assert at.number_input(key="compose_train").value == 500
    assert metrics(at)["Train"] == "500"


def test_a_bad_template_is_one_error_line() -> None:
    at = open_app("compose")
    at.text_area(key="compose_user").input("{title} costs {cost}").run()
    assert not at.exception
    assert len(errors(at)) == 1
    assert errors(at)[0].startswith("user template: unknown field {cost}")


def test_asking_for_more_than_the_dataset_holds_lowers_the_other_size() -> None:
    at = open_app("compose")
    at.number_input(key="compose_train").set_value(1_000).run()
    at.number_input(key="compose_validation").set_value(500).run()
    assert_clean(at)
    [source] = [c.value for c in at.caption if c.value.startswith("From ")]
    available = int(source.split(": ")[-1].split()[0].replace(",", ""))
    train, validation = (int(metrics(at)[k].replace(",", "")) for k in ("Train", "Validation"))
    assert validation == 500 and train == available - 500
    assert any(f"Lowered train from 1,000 to {train:,}" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("user", "problem"),
    [
        ("{title:>50000000}", "user template: {title:>50000000}: the width is over 1,000"),
        ("{title.__class__}", "user template: {title.__class__}: only plain fields are allowed"),
        ("{title!r}", "user template: {title!r}: conversions (!r, !s, !a) are not allowed"),
    ],
)
@pytest.mark.parametrize("hosted", [False, True])
def test_an_unsafe_template_is_refused_in_one_line(
    user: str, problem: str, hosted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if hosted:
        monkeypatch.setenv(state.HOSTED_ENV, "1")
    at = open_app("compose")
    at.text_area(key="compose_user").input(user).run()
    assert not at.exception
    [error] = errors(at)
    assert error.startswith(problem)
    goto(at, "messages")
    assert not at.exception and len(errors(at)) == 1


def test_an_empty_system_prompt_is_one_error_line() -> None:
    at = open_app("compose")
    at.text_area(key="compose_system").input("   ").run()
    assert not at.exception
    assert errors(at) == ["system prompt: is empty; write what the model should do"]


def test_a_leaky_user_template_is_warned_about() -> None:
    at = open_app("compose")
    at.text_area(key="compose_user").input("{prompt}").run()
    assert_clean(at)
    assert any("reveals the price" in w.value for w in at.warning)
