"""The Evaluate page's orchestration, without Streamlit: confirm, keep a cut run, record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import ftkit.history as history
from ftkit.dataset.sampling import SplitSettings
from ftkit.evaluation.predictors import Guess, make_baseline
from ftkit.evaluation.run import Progress, evaluate
from ftkit.evaluation.saved import run_from_json
from ftkit.evaluation.session import (
    evaluate_tracked,
    new_partial,
    record_evaluation,
    run_signature,
    settle_partial,
)
from ftkit.history import HistoryStore, list_runs, open_store
from ftkit.history.recorder import store_recorder
from ftkit.items import Item
from ftkit.providers import ProviderSettings

ITEMS = [Item(f"Widget {i}", 10.0 * (i + 1)) for i in range(6)]
OPENAI = ProviderSettings(api_key="sk-one")
T = TypeVar("T")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    yield open_store(f"sqlite:///{tmp_path / 'history.db'}")
    history.close_all()


def _signature(settings: ProviderSettings = OPENAI, **changes: Any) -> str:
    asked: dict[str, Any] = {"model": "gpt-4o-mini", "source": "sample", "workers": 4}
    return run_signature(settings, items=changes.pop("items", ITEMS), **(asked | changes))


@pytest.mark.parametrize(
    "change",
    [
        {"model": "gpt-4o"},
        {"source": "other.csv"},
        {"workers": 5},
        {"items": ITEMS[:5]},
        {"items": [*ITEMS[:5], Item("Widget 5", 1.0)]},
        {"settings": ProviderSettings(api_key="sk-two")},
        {"settings": ProviderSettings(api_key="sk-one", base_url="http://127.0.0.1:9/v1")},
    ],
    ids=["model", "source", "workers", "fewer-items", "a-price", "key", "endpoint"],
)
def test_a_confirmed_run_must_be_reviewed_again_after_any_change(change: dict[str, Any]) -> None:
    assert _signature() == _signature()
    assert _signature(**change) != _signature()


def test_the_signature_holds_no_key() -> None:
    assert "sk-one" not in _signature()


class Cut(BaseException):
    """What Streamlit raises in the script thread when the user presses Stop."""


def _cut_after(count: int) -> Callable[[Progress], None]:
    def show(progress: Progress) -> None:
        if progress.done == count:
            raise Cut

    return show


def test_a_cut_run_keeps_the_items_scored_before_the_cut() -> None:
    partial = new_partial("gpt-4o-mini", "sample", len(ITEMS))
    with pytest.raises(Cut):
        evaluate_tracked(
            ITEMS,
            lambda item: Guess(item.price, f"Price is ${item.price:.2f}"),
            model="gpt-4o-mini",
            source="sample",
            workers=1,
            cost=None,
            partial=partial,
            on_progress=_cut_after(3),
        )
    kept, line = settle_partial(partial, by_user=True)
    assert line == (
        "The last run was stopped by the user after 3 of 6 items; its 3 scored items are kept."
    )
    assert kept is not None
    reopened = run_from_json(kept)
    assert [r.title for r in reopened.rows] == ["Widget 0", "Widget 1", "Widget 2"]
    assert reopened.stopped == "stopped by the user"


def test_an_interrupted_run_with_nothing_scored_keeps_nothing() -> None:
    kept, line = settle_partial(new_partial("baseline:mean", "sample", 6), by_user=False)
    assert kept is None
    assert line == "The last run was interrupted after 0 of 6 items; no item was scored yet."


def test_a_tracked_run_scores_as_evaluate_does() -> None:
    mean = make_baseline("baseline:mean", ITEMS)
    progress: list[Progress] = []
    tracked = evaluate_tracked(
        ITEMS,
        mean,
        model="baseline:mean",
        source="sample",
        workers=8,
        cost=None,
        partial=new_partial("baseline:mean", "sample", 6),
        on_progress=progress.append,
    )
    plain = evaluate(ITEMS, mean, model="baseline:mean", source="sample", workers=1)
    assert tracked.rows == plain.rows and len(progress) == 6


FIELDS = {
    "source": "sample",
    "dataset_hash": "sha256:" + "0" * 64,
    "split": SplitSettings(),
    "scored": "held-out",
    "scored_items": "6 held-out items",
}


@pytest.mark.parametrize(
    ("model", "provider", "base_url", "workers"),
    [
        ("gpt-4o-mini", OPENAI, None, 4),
        ("gpt-4o-mini", ProviderSettings(api_key="k", base_url="http://127.0.0.1:9/v1"), "x", 4),
        ("baseline:mean", ProviderSettings(api_key="k", base_url="http://127.0.0.1:9/v1"), None, 1),
    ],
    ids=["openai", "compatible-endpoint", "baseline"],
)
def test_a_run_records_its_endpoint_only_off_openai(store, model, provider, base_url, workers):
    result = evaluate(ITEMS, make_baseline("baseline:mean", ITEMS), model=model, workers=1)
    fields = FIELDS | ({"train_source": "sample", "train_hash": None} if workers == 1 else {})
    record = store_recorder(store, "ana")
    run_id = record_evaluation(
        result, provider=provider, size=6, workers=4, fields=fields, record=record
    )
    (run,) = list_runs("evaluate", store=store)
    assert run.id == run_id and run.user == "ana" and run.status == "succeeded"
    expected = "http://127.0.0.1:9/v1" if base_url else None
    assert run.settings.get("base_url") == expected
    assert run.settings["workers"] == workers and run.settings["size"] == 6
    assert "k" not in run.settings.values()


def _not_recorded(record: Callable[[HistoryStore | None, str], T], /) -> T | None:
    return None


def test_a_history_that_cannot_be_written_returns_none(store) -> None:
    result = evaluate(ITEMS, make_baseline("baseline:mean", ITEMS), model="baseline:mean")
    recorded = record_evaluation(
        result, provider=OPENAI, size=6, workers=1, fields=FIELDS, record=_not_recorded
    )
    assert recorded is None and list_runs(store=store) == []
