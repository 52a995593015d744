"""Run a predictor over test items: a bounded worker pool, progress, a cost estimate, stopping.

``evaluate`` keeps every finished result when the run stops early: on Ctrl-C
(``KeyboardInterrupt``), when ``should_stop()`` turns true, when the model cannot be asked
at all (a 401 or 404, say: ``stopped`` then holds the one-line reason), or when the first
``GIVE_UP_AFTER`` items all failed after every retry (an endpoint that is down or dropping).
An item that still fails after every retry is counted in ``failed`` and left out of the
metrics.

A ``BatchPredictor`` (a local model) with a ``batch_size`` above 1 is asked that many items at
a time, in order, on the calling thread; progress, stopping and giving up then follow each
item of a finished batch as for any other predictor, and a batch that fails fails its items.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ftkit.errors import EvaluationError, FtkitError, ModelError, RetriesExhaustedError
from ftkit.evaluation.chat import DEFAULT_MAX_TOKENS, messages_for
from ftkit.evaluation.predictors import (
    BatchPredictor,
    Guess,
    Predictor,
    batch_size_of,
    is_baseline,
)
from ftkit.evaluation.scoring import Metrics, Scored, compute_metrics, score_item
from ftkit.items import Item
from ftkit.preflight.cost import PriceTable, estimate_inference_cost, has_base_rates, load_prices
from ftkit.preflight.tokens import count_example, get_tokenizer
from ftkit.training.models import find_model

__all__ = [
    "DEFAULT_SIZE",
    "DEFAULT_WORKERS",
    "CostEstimate",
    "Progress",
    "Run",
    "estimate_cost",
    "evaluate",
]

DEFAULT_SIZE = 250
DEFAULT_WORKERS = 5
MAX_WORKERS = 64
GIVE_UP_AFTER = 5  # items failed after every retry, none scored yet: the endpoint is not answering


@dataclass(frozen=True)
class CostEstimate:
    """The most a run can cost: every prompt, plus ``max_tokens`` out per item."""

    model: str
    input_tokens: int
    output_tokens: int
    dollars: float
    currency: str
    as_of: str
    approximate: bool = False
    rates: str = "fine-tuned"  # whose rates: "fine-tuned", "base", or "fine-tuned (upper bound)"


@dataclass(frozen=True)
class Progress:
    """Where a run is: items finished (scored or failed) out of the total, and retries so far."""

    done: int
    total: int
    failed: int
    retries: int
    last: Scored | None = None
    note: str | None = None


@dataclass(frozen=True)
class Run:
    """One evaluation: the scored rows in item order, and how the run went."""

    model: str
    source: str
    requested: int
    rows: tuple[Scored, ...]
    failed: int = 0
    stopped: str | None = None
    created: str = ""
    elapsed_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: CostEstimate | None = None
    metrics: Metrics = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", compute_metrics(self.rows))

    @property
    def complete(self) -> bool:
        """Return True when every requested item was scored."""
        return len(self.rows) == self.requested and self.stopped is None


def estimate_cost(
    items: Sequence[Item],
    model: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    prices: PriceTable | None = None,
) -> CostEstimate | None:
    """Return the run's cost from the price table; None for a baseline or an unpriced model."""
    if is_baseline(model):
        return None
    try:
        known = find_model(model)
    except ModelError:
        return None
    table = prices or load_prices()
    entry = table.models.get(known.name)
    if entry is None:
        return None
    tokenizer = get_tokenizer(known.encoding)
    input_tokens = sum(count_example(messages_for(item), tokenizer)[0] for item in items)
    output_tokens = max_tokens * len(items)
    base = not model.strip().startswith("ft:")
    rates = "fine-tuned"
    if base:  # a table without the base model's rates gives the (higher) fine-tuned ones
        rates = "base" if has_base_rates(entry) else "fine-tuned (upper bound)"
    return CostEstimate(
        model=known.name,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        dollars=estimate_inference_cost(input_tokens, output_tokens, entry, base=base),
        currency=table.currency,
        as_of=table.as_of,
        approximate=tokenizer.approximate,
        rates=rates,
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Tally:
    guesses: dict[int, tuple[Guess, Scored]] = field(default_factory=dict)
    failed: int = 0
    retries: int = 0
    stopped: str | None = None
    last_failure: str = ""

    def give_up(self) -> str | None:
        """Return why the run stops when the first items all failed, else None."""
        if self.guesses or self.failed < GIVE_UP_AFTER:
            return None
        return (
            f"the first {self.failed} items all failed after every retry "
            f"(the last: {self.last_failure})"
        )


def _record(tally: _Tally, index: int, item: Item, future: Future[Guess]) -> Scored | None:
    try:
        guess = future.result()
    except RetriesExhaustedError as err:
        tally.failed += 1
        tally.last_failure = str(err)
        return None
    scored = score_item(item.title, item.price, guess.value, answer=guess.answer)
    tally.guesses[index] = (guess, scored)
    tally.retries += guess.retries
    return scored


def _inline(items: Sequence[Item], predictor: Predictor) -> Iterator[tuple[int, Future[Guess]]]:
    for index, item in enumerate(items):
        future: Future[Guess] = Future()
        try:
            future.set_result(predictor(item))
        except Exception as err:
            future.set_exception(err)
        yield index, future


def _batched(
    items: Sequence[Item], predictor: BatchPredictor, size: int
) -> Iterator[tuple[int, Future[Guess]]]:
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        futures: list[Future[Guess]] = [Future() for _ in chunk]
        try:
            guesses = predictor.predict_batch(chunk)
            if len(guesses) != len(chunk):
                raise EvaluationError(
                    f"the predictor returned {len(guesses)} guesses for {len(chunk)} items"
                )
        except Exception as err:
            for future in futures:
                future.set_exception(err)
        else:
            for future, guess in zip(futures, guesses, strict=True):
                future.set_result(guess)
        yield from enumerate(futures, start)


def _pairs(
    pool: ThreadPoolExecutor, items: Sequence[Item], predictor: Predictor, workers: int
) -> Iterator[tuple[int, Future[Guess]]]:
    """Return (index, outcome) pairs: in batches, in order on this thread, or from the pool."""
    size = batch_size_of(predictor)
    if size > 1 and isinstance(predictor, BatchPredictor):
        return _batched(items, predictor, size)
    return _inline(items, predictor) if workers <= 1 else _pooled(pool, items, predictor)


def _pooled(
    pool: ThreadPoolExecutor, items: Sequence[Item], predictor: Predictor
) -> Iterator[tuple[int, Future[Guess]]]:
    futures = {pool.submit(predictor, item): index for index, item in enumerate(items)}
    for future in as_completed(futures):
        yield futures[future], future


def evaluate(
    items: Sequence[Item],
    predictor: Predictor,
    *,
    model: str,
    source: str = "",
    workers: int = DEFAULT_WORKERS,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    cost: CostEstimate | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Run:
    """Score ``predictor`` on ``items`` with at most ``workers`` requests in flight.

    ``on_progress`` is called on the calling thread after each item. With ``workers=1`` the
    items are asked in order on the calling thread (the seeded random baseline relies on it),
    as are a ``BatchPredictor``'s batches (``batch_size`` above 1) whatever ``workers`` says.
    """
    started, created = clock(), _now()
    tally = _Tally()
    total = len(items)
    pool = ThreadPoolExecutor(max_workers=min(max(workers, 1), MAX_WORKERS))
    try:
        for index, future in _pairs(pool, items, predictor, workers):
            try:
                scored = _record(tally, index, items[index], future)
            except FtkitError as err:
                tally.stopped = str(err)
                break
            if on_progress is not None:
                done = len(tally.guesses) + tally.failed
                on_progress(Progress(done, total, tally.failed, tally.retries, scored))
            if should_stop is not None and should_stop():
                tally.stopped = "stopped by the user"
                break
            tally.stopped = tally.give_up()
            if tally.stopped is not None:
                break
    except KeyboardInterrupt:
        tally.stopped = "interrupted"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    ordered = [tally.guesses[i] for i in sorted(tally.guesses)]
    return Run(
        model=model,
        source=source,
        requested=total,
        rows=tuple(scored for _, scored in ordered),
        failed=tally.failed,
        stopped=tally.stopped,
        created=created,
        elapsed_s=round(clock() - started, 3),
        input_tokens=sum(guess.input_tokens for guess, _ in ordered),
        output_tokens=sum(guess.output_tokens for guess, _ in ordered),
        cost=cost,
    )
