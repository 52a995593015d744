"""A chat model over a fake server on 127.0.0.1: answers, garbage, 429s, 500s and drops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from ftkit.evaluation.chat import ChatPredictor, retry_delay
from ftkit.evaluation.run import Progress, estimate_cost, evaluate
from ftkit.items import Item
from ftkit.providers import ProviderSettings, client_from_settings
from tests.fake_chat import FakeChat, serve, user_text

PRICES = {"Kettle": 40.0, "Lamp": 100.0, "Drill": 200.0, "Mug": 10.0}
ANSWERS = {"Kettle": "45.00", "Lamp": "no idea, sorry", "Drill": "1,200", "Mug": "$12"}


def make_item(title: str, price: float) -> Item:
    prompt = (
        f"How much does this cost to the nearest dollar?\n\n{title}\nA fine {title.lower()}."
        f"\n\nPrice is ${price:.2f}"
    )
    return Item(title=title, price=price, prompt=prompt)


ITEMS = [make_item(title, price) for title, price in PRICES.items()]


def title_of(body: dict[str, Any]) -> str:
    return user_text(body).split("\n\n")[1].split("\n")[0]


def answers(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
    return ("answer", ANSWERS[title_of(body)])


def client_for(fake: FakeChat) -> openai.OpenAI:
    settings = ProviderSettings(api_key="test-key", base_url=fake.url)
    return client_from_settings(settings, max_retries=0, timeout=5)


@pytest.fixture
def fake() -> Iterator[FakeChat]:
    with serve(answers) as server:
        yield server


def test_known_answers_and_garbage_are_scored(fake: FakeChat) -> None:
    predictor = ChatPredictor(client=client_for(fake), model="ft:gpt-4o-mini:me::abc")
    run = evaluate(ITEMS, predictor, model=predictor.model, workers=3)
    assert [(r.title, r.guess, r.color, r.parsed) for r in run.rows] == [
        ("Kettle", 45.0, "green", True),
        ("Lamp", 0.0, "red", False),  # no number: a guess of $0, unparsed
        ("Drill", 1200.0, "red", True),
        ("Mug", 12.0, "green", True),
    ]
    assert run.metrics.unparsed == 1 and run.complete
    assert run.metrics.average_error == pytest.approx((5 + 100 + 1000 + 2) / 4)
    assert (run.input_tokens, run.output_tokens) == (400, 12)


def test_request_has_the_lecture_shape(fake: FakeChat) -> None:
    predictor = ChatPredictor(client=client_for(fake), model="m")
    predictor(ITEMS[0])
    body = fake.requests[0]
    assert body["seed"] == 42 and body["max_tokens"] == 7 and body["model"] == "m"
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant"]
    assert body["messages"][0]["content"].startswith("You estimate prices of items.")
    assert body["messages"][1]["content"] == "How much does this cost?\n\nKettle\nA fine kettle."
    assert body["messages"][2]["content"] == "Price is $"


def test_429_500_and_a_dropped_connection_are_retried_honouring_retry_after() -> None:
    def flaky(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        title = title_of(body)
        if title == "Kettle" and attempt == 1:
            return ("status", 429, {"Retry-After": "7"})
        if title == "Lamp" and attempt == 1:
            return ("status", 500)
        if title == "Drill" and attempt == 1:
            return ("drop",)
        if title == "Mug" and attempt < 3:
            return ("status", 429, {"retry-after-ms": "250"})
        return ("answer", str(PRICES[title]))

    waits: list[float] = []
    with serve(flaky) as fake:
        predictor = ChatPredictor(client=client_for(fake), model="m", sleep=waits.append)
        run = evaluate(ITEMS, predictor, model="m", workers=2)
    assert run.complete and run.failed == 0
    assert [r.error for r in run.rows] == [0.0, 0.0, 0.0, 0.0]
    by_title = {k.split("\n\n")[1].split("\n")[0]: v for k, v in fake.attempts.items()}
    assert by_title == {"Kettle": 2, "Lamp": 2, "Drill": 2, "Mug": 3}
    assert 7.0 in waits and waits.count(0.25) == 2  # the server's Retry-After, as asked
    assert len(waits) == 5


def test_an_item_that_never_succeeds_is_counted_failed_and_the_rest_kept() -> None:
    def always_busy_for_lamp(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        title = title_of(body)
        return ("status", 429) if title == "Lamp" else ("answer", str(PRICES[title]))

    with serve(always_busy_for_lamp) as fake:
        predictor = ChatPredictor(
            client=client_for(fake), model="m", sleep=lambda s: None, max_attempts=3
        )
        run = evaluate(ITEMS, predictor, model="m", workers=2)
    assert run.failed == 1 and len(run.rows) == 3 and run.stopped is None
    assert [r.title for r in run.rows] == ["Kettle", "Drill", "Mug"]


def test_a_401_stops_the_run_with_one_line_and_keeps_what_finished() -> None:
    def auth(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        return ("status", 401) if title_of(body) == "Drill" else ("answer", "1")

    with serve(auth) as fake:
        predictor = ChatPredictor(client=client_for(fake), model="m")
        run = evaluate(ITEMS, predictor, model="m", workers=1)
    assert run.stopped == "m: HTTP 401: fake error 401"
    assert [r.title for r in run.rows] == ["Kettle", "Lamp"]


def test_a_400_rejecting_the_prefill_drops_it_once() -> None:
    def no_prefill(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        if body["messages"][-1]["role"] == "assistant":
            return ("status", 400, {}, "The last message must be a user message")
        return ("answer", "Price is $41")

    with serve(no_prefill) as fake:
        predictor = ChatPredictor(client=client_for(fake), model="m")
        run = evaluate(ITEMS[:2], predictor, model="m", workers=1)
    assert [r.guess for r in run.rows] == [41.0, 41.0] and not predictor.prefill
    assert [len(b["messages"]) for b in fake.requests] == [3, 2, 2]


def test_a_400_rejecting_max_tokens_switches_to_max_completion_tokens() -> None:
    def new_model(body: dict[str, Any], attempt: int) -> tuple[Any, ...]:
        if "max_tokens" in body:
            return ("status", 400, {}, "Unsupported parameter: 'max_tokens'")
        return ("answer", "40")

    with serve(new_model) as fake:
        predictor = ChatPredictor(client=client_for(fake), model="m")
        run = evaluate(ITEMS[:1], predictor, model="m", workers=1)
    assert run.rows[0].guess == 40.0 and fake.requests[-1]["max_completion_tokens"] == 7


def test_any_other_400_stops_the_run_with_one_line() -> None:
    with serve(lambda body, attempt: ("status", 400, {}, "bad\nrequest")) as fake:
        run = evaluate(ITEMS, ChatPredictor(client=client_for(fake), model="m"), model="m")
    assert run.stopped == "m: HTTP 400: bad request" and not run.rows


def test_interrupting_keeps_finished_results(fake: FakeChat) -> None:
    seen: list[Progress] = []
    predictor = ChatPredictor(client=client_for(fake), model="m")
    run = evaluate(
        ITEMS,
        predictor,
        model="m",
        workers=1,
        on_progress=seen.append,
        should_stop=lambda: len(seen) >= 2,
    )
    assert run.stopped == "stopped by the user" and len(run.rows) == 2
    assert [p.done for p in seen] == [1, 2] and seen[-1].total == 4

    def interrupt(item: Item) -> Any:
        if item.title == "Drill":
            raise KeyboardInterrupt
        return predictor(item)

    run = evaluate(ITEMS, interrupt, model="m", workers=1)
    assert run.stopped == "interrupted" and [r.title for r in run.rows] == ["Kettle", "Lamp"]


def test_the_pool_keeps_at_most_workers_requests_in_flight() -> None:
    items = [make_item(f"Thing {i}", 10.0 + i) for i in range(12)]
    with serve(lambda body, attempt: ("answer", "10"), delay=0.05) as fake:
        run = evaluate(
            items, ChatPredictor(client=client_for(fake), model="m"), model="m", workers=3
        )
    assert len(run.rows) == 12 and fake.peak == 3


def test_retry_delay_without_a_header_backs_off_exponentially() -> None:
    err = Exception("boom")
    assert 0.4 <= retry_delay(err, 1) <= 0.5
    assert 3.2 <= retry_delay(err, 4) <= 4.0
    assert retry_delay(err, 30, max_wait=10) <= 10


def test_cost_is_estimated_from_the_price_table_before_a_run() -> None:
    cost = estimate_cost(ITEMS, "ft:gpt-4o-mini-2024-07-18:me::abc", max_tokens=7)
    assert cost is not None and cost.model == "gpt-4o-mini-2024-07-18"
    assert cost.output_tokens == 28 and cost.input_tokens > 4 * 20
    expected = (cost.input_tokens * 0.30 + cost.output_tokens * 1.20) / 1e6
    assert cost.dollars == pytest.approx(expected)
    assert cost.rates == "fine-tuned"
    assert estimate_cost(ITEMS, "llama3:8b") is None
    assert estimate_cost(ITEMS, "baseline:mean") is None


def test_a_base_model_is_priced_at_its_own_rates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = estimate_cost(ITEMS, "gpt-4o-mini", max_tokens=7)
    assert base is not None and base.rates == "base"
    expected = (base.input_tokens * 0.15 + base.output_tokens * 0.60) / 1e6
    assert base.dollars == pytest.approx(expected)
    # a table of its own without base rates: the fine-tuned rates, said to be an upper bound
    mine = tmp_path / "prices.json"
    rates = {"training_per_1m": 3.0, "input_per_1m": 0.3, "output_per_1m": 1.2}
    mine.write_bytes(orjson.dumps({"as_of": "2030-01-01", "models": {base.model: rates}}))
    monkeypatch.setenv("FTKIT_PRICES", str(mine))
    bound = estimate_cost(ITEMS, "gpt-4o-mini", max_tokens=7)
    assert bound is not None and bound.rates == "fine-tuned (upper bound)"
    assert bound.dollars == pytest.approx(2 * expected)
