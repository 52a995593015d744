"""Fault injection: every way a request can fail ends in a reason the user can read."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ftkit.evaluation.chat import ChatPredictor
from ftkit.evaluation.failures import FailureLog, describe_failures
from ftkit.evaluation.run import evaluate
from ftkit.items import Item
from ftkit.providers import ProviderSettings, client_from_settings
from tests.fake_chat import serve

ITEMS = [
    Item(title=f"Item {n}", price=10.0 + n, prompt=f"How much?\n\nThing number {n}\n\nPrice is $")
    for n in range(4)
]


def run_against(reply: Any, *, delay: float = 0.0, timeout: float = 5.0) -> tuple[Any, Counter]:
    with serve(reply, delay=delay) as fake:
        settings = ProviderSettings(api_key="sk-test-" + "x" * 20, base_url=fake.url)
        client = client_from_settings(settings, max_retries=0, timeout=timeout)
        predictor = ChatPredictor(
            client=client, model="gpt-4o-mini", max_attempts=2, sleep=lambda seconds: None
        )
        log = FailureLog(predictor)
        result = evaluate(ITEMS, log, model="gpt-4o-mini", workers=2)
    return result, log.reasons


def first_fails(action: tuple[Any, ...]) -> Any:
    def reply(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        return action if "Thing number 0" in str(body) else ("answer", "12")

    return reply


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (("status", 429, {}, "Rate limit reached"), "HTTP 429: Rate limit reached"),
        (("status", 500, {}, "Internal failure"), "HTTP 500: Internal failure"),
        (("status", 502, {}), "HTTP 502: fake error 502"),
        (("drop",), "Connection error."),
    ],
    ids=["429", "500", "502", "dropped connection"],
)
def test_a_failing_item_gives_its_reason(action: tuple[Any, ...], reason: str) -> None:
    result, reasons = run_against(first_fails(action))
    assert result.failed == 1 and len(result.rows) == 3
    assert reasons == Counter({f"gave up after 2 attempts ({reason})": 1})


def test_a_timeout_gives_its_reason() -> None:
    result, reasons = run_against(lambda body, attempt: ("answer", "12"), delay=1.0, timeout=0.2)
    assert result.failed == len(ITEMS) and not result.rows
    assert reasons == Counter({"gave up after 2 attempts (Request timed out.)": len(ITEMS)})


def test_reasons_are_summed_up_most_common_first() -> None:
    reasons = Counter({"HTTP 500: boom": 1, "HTTP 429: slow down": 5, "a": 1, "b": 1})
    assert describe_failures(reasons, shown=2) == (
        "HTTP 429: slow down (5 items); HTTP 500: boom (1 item); and 2 other reasons"
    )
    assert describe_failures(Counter()) == ""
