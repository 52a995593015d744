"""``evaluate`` with a predictor that answers several items at once (a local model).

Batches are asked in order on the calling thread; progress, stopping, failures, giving up and
the order of the rows behave as for a predictor asked one item at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from ftkit.errors import EvaluationError, RetriesExhaustedError
from ftkit.evaluation.failures import FailureLog
from ftkit.evaluation.predictors import Guess, batch_size_of
from ftkit.evaluation.run import Progress, evaluate
from ftkit.items import Item

ITEMS = [Item(title=f"item {i}", price=float(10 + i), details=f"text {i}") for i in range(10)]


@dataclass
class Batched:
    """Guess each item's index; fail the batches listed in ``fail`` with ``error``."""

    batch_size: int = 4
    fail: dict[int, BaseException] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)
    extra: int = 0

    def __call__(self, item: Item) -> Guess:
        return self.predict_batch([item])[0]

    def predict_batch(self, items: Sequence[Item]) -> list[Guess]:
        self.calls.append([item.title for item in items])
        if (error := self.fail.get(len(self.calls))) is not None:
            raise error
        guesses = [Guess(float(item.title.split()[-1]), item.title, 3, 1) for item in items]
        return guesses + [Guess(1.0)] * self.extra


def test_batches_are_asked_in_order_and_rows_keep_the_items_order() -> None:
    predictor = Batched(batch_size=4)
    seen: list[int] = []
    run = evaluate(
        ITEMS, predictor, model="local:x", workers=5, on_progress=lambda p: seen.append(p.done)
    )
    assert [len(call) for call in predictor.calls] == [4, 4, 2]
    assert [call[0] for call in predictor.calls] == ["item 0", "item 4", "item 8"]
    assert [row.title for row in run.rows] == [item.title for item in ITEMS]
    assert [row.guess for row in run.rows] == [float(i) for i in range(10)]
    assert seen == list(range(1, 11))
    assert run.complete and run.input_tokens == 30 and run.output_tokens == 10


def test_batch_size_one_asks_item_by_item() -> None:
    predictor = Batched(batch_size=1)
    run = evaluate(ITEMS[:3], predictor, model="local:x", workers=1)
    assert predictor.calls == [["item 0"], ["item 1"], ["item 2"]] and len(run.rows) == 3


def test_stopping_keeps_what_was_scored() -> None:
    predictor = Batched(batch_size=4)
    done: list[Progress] = []
    run = evaluate(
        ITEMS,
        predictor,
        model="local:x",
        on_progress=done.append,
        should_stop=lambda: len(done) >= 5,
    )
    assert run.stopped == "stopped by the user" and len(run.rows) == 5
    assert len(predictor.calls) == 2  # the third batch is never asked


def test_a_failed_batch_fails_its_items_and_the_log_says_why() -> None:
    predictor = Batched(batch_size=4, fail={2: RetriesExhaustedError("out of luck")})
    log = FailureLog(predictor)
    run = evaluate(ITEMS, log, model="local:x")
    assert run.failed == 4 and len(run.rows) == 6 and run.stopped is None
    assert [row.title for row in run.rows] == [f"item {i}" for i in (0, 1, 2, 3, 8, 9)]
    assert log.reasons == {"out of luck": 4}


def test_a_model_that_cannot_answer_stops_the_run_with_its_line() -> None:
    predictor = Batched(batch_size=4, fail={2: EvaluationError("local:x: generation failed: OOM")})
    run = evaluate(ITEMS, FailureLog(predictor), model="local:x")
    assert run.stopped == "local:x: generation failed: OOM" and len(run.rows) == 4


def test_giving_up_when_the_first_items_all_fail() -> None:
    failing = {n: RetriesExhaustedError("down") for n in range(1, 4)}
    predictor = Batched(batch_size=2, fail=failing)
    run = evaluate(ITEMS, predictor, model="local:x")
    assert run.stopped is not None and run.stopped.startswith("the first 5 items all failed")
    assert run.rows == ()


def test_a_wrong_number_of_guesses_stops_the_run() -> None:
    run = evaluate(ITEMS, Batched(batch_size=4, extra=1), model="local:x")
    assert run.stopped == "the predictor returned 5 guesses for 4 items" and run.rows == ()


def test_an_interrupt_keeps_the_finished_batches() -> None:
    run = evaluate(ITEMS, Batched(batch_size=4, fail={3: KeyboardInterrupt()}), model="local:x")
    assert run.stopped == "interrupted" and len(run.rows) == 8


def test_the_failure_log_passes_batches_through_and_plain_predictors_stay_single() -> None:
    assert batch_size_of(FailureLog(Batched(batch_size=6))) == 6
    plain = FailureLog(lambda item: Guess(1.0))
    assert batch_size_of(plain) == 1
    assert plain.predict_batch(ITEMS[:2]) == [Guess(1.0), Guess(1.0)]


@pytest.mark.parametrize("workers", [1, 4], ids=["inline", "pooled"])
def test_a_plain_predictor_is_asked_one_item_at_a_time(workers: int) -> None:
    asked: list[str] = []

    def predict(item: Item) -> Guess:
        asked.append(item.title)
        return Guess(5.0)

    run = evaluate(ITEMS, FailureLog(predict), model="m", workers=workers)
    assert sorted(asked) == sorted(item.title for item in ITEMS) and len(run.rows) == 10
