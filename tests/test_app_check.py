"""The Check page: the pre-flight report of the composed split, model, epochs and cost."""

from __future__ import annotations

from apptest_support import assert_clean, goto, metrics, open_app
from streamlit.testing.v1 import AppTest

from ftkit.preflight.cost import DEFAULT_EPOCHS, default_epochs, load_prices
from ftkit.ui import state


def shown(at: AppTest) -> dict[str, str]:
    """Return the metrics by label, without the "(approximate)" tiktoken-less counts carry."""
    return {label.removesuffix(" (approximate)"): value for label, value in metrics(at).items()}


def test_the_composed_split_passes_with_epochs_and_a_dated_estimate() -> None:
    at = open_app("check")
    assert_clean(at)
    assert at.success[0].value.startswith("No errors in 500 training and 50 validation")
    values = shown(at)
    assert values["Epochs"] == str(DEFAULT_EPOCHS)  # what the job form and finetune send
    tokens = int(values["Training tokens"].replace(",", ""))
    assert int(values["Billed tokens"].replace(",", "")) == DEFAULT_EPOCHS * tokens
    assert values["Estimated cost"].startswith("$")
    assert any(f"Priced for {DEFAULT_EPOCHS} epoch" in c.value for c in at.caption)
    as_of = load_prices().as_of
    assert any(f"Prices as of {as_of}" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 1  # the token histogram
    assert any("2027-01-14" in w.value for w in at.warning)  # 4o-mini's shutdown date


def test_epochs_and_model_change_the_estimate() -> None:
    at = open_app("check")
    tokens = int(shown(at)["Training tokens"].replace(",", ""))
    at.selectbox(key="check_epochs").select(2).run()
    assert shown(at)["Billed tokens"] == f"{2 * tokens:,}"
    assert at.session_state[state.EPOCHS] == 2
    at.selectbox(key="check_epochs").select("auto").run()
    auto = default_epochs(500)
    assert metrics(at)["Epochs"] == str(auto)
    assert shown(at)["Billed tokens"] == f"{auto * tokens:,}"
    assert any("auto: OpenAI's rule for 500 examples" in c.value for c in at.caption)
    at.selectbox(key="check_model").select("gpt-3.5-turbo-0125").run()
    assert_clean(at)
    assert not at.warning  # no announced shutdown for this one
    assert any("limit 16,385" in c.value for c in at.caption)


def test_a_leaky_template_shows_warnings_with_line_numbers() -> None:
    at = open_app("compose")
    at.text_area(key="compose_user").input("{title} sells for ${price:.2f}").run()
    goto(at, "check")
    assert_clean(at)  # warnings do not fail the check
    issues = at.dataframe[0].value
    leaks = issues[issues["code"] == "warn.price_leak"]
    assert len(leaks) == 550
    assert list(leaks[leaks["file"] == "training"]["line"][:3]) == [1, 2, 3]
    assert list(leaks[leaks["file"] == "validation"]["line"][:2]) == [1, 2]


def test_a_special_token_in_the_prompt_fails_the_check() -> None:
    at = open_app("compose")
    at.text_area(key="compose_system").input("Estimate prices.<|endoftext|>").run()
    goto(at, "check")
    assert not at.exception
    assert [e.value for e in at.error] == ["550 errors: fix them before uploading."]
    issues = at.dataframe[0].value
    assert set(issues["code"]) == {"content.special_token"}
    assert list(issues["line"][:2]) == [1, 2]


def test_the_epochs_choice_survives_a_round_trip_and_prefills_the_job_form() -> None:
    at = open_app("check")
    at.selectbox(key="check_epochs").select(4).run()
    goto(at, "train")
    assert not at.exception
    assert at.selectbox(key="train_job_epochs").value == 4
    goto(at, "check")
    assert at.selectbox(key="check_epochs").value == 4
    assert metrics(at)["Epochs"] == "4"


def test_reset_to_the_lectures_defaults_restores_the_epochs_too() -> None:
    at = open_app("check")
    at.selectbox(key="check_epochs").select(7).run()
    goto(at, "compose")
    at.button(key="compose_reset").click().run()
    goto(at, "check")
    assert metrics(at)["Epochs"] == str(DEFAULT_EPOCHS)
