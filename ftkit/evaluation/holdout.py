"""What an evaluation scores, and what its baselines are fitted on.

The rule, the same on the command line, the dashboard and a re-run from the history:

- a data file (CSV, JSONL, JSON, Parquet, or a pickle not named test*): its held-out items, the
  ones outside the training and validation split ``prepare`` draws with the same settings;
  baselines are fitted on that split's training items;
- the built-in sample: its own test split; baselines on the split of its training records;
- a course test set (a pickle named test*.pkl, as in the lecture): all of it, in order;
  baselines on the training split of another source (the built-in sample unless named).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ftkit.dataset.sampling import Split, SplitSettings, fit_sizes, held_out, split_items
from ftkit.errors import EvaluationError, SamplingError
from ftkit.items import Item
from ftkit.sources.columns import ColumnMapping, ColumnOverrides
from ftkit.sources.load import PICKLE_SUFFIXES, SAMPLE, LoadedItems, load_items

__all__ = [
    "SAMPLE_LABEL",
    "EvaluationItems",
    "Scope",
    "choose_items",
    "held_out_items",
    "is_test_set",
    "size_hint",
    "split_from_settings",
    "split_to_settings",
    "training_split",
]

Scope = Literal["held-out", "test split", "test set"]
SAMPLE_LABEL = "the built-in sample"


def _count(count: int, noun: str) -> str:
    """Return e.g. "1 item" or "1,250 items"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class EvaluationItems:
    """The items to score (all there are, in a fixed order) and the baselines' training items."""

    items: list[Item]
    train: list[Item]
    scope: Scope
    label: str  # the scored source as a user names it: "items.csv", "the built-in sample"
    split: SplitSettings
    train_label: str  # where the training items come from
    total: int = 0  # items in the scored source
    mapping: ColumnMapping | None = None  # the scored table's columns (None: sample, pickle)

    def describe(self, size: int | None = None) -> str:
        """Return which items are scored, e.g. "250 held-out items of items.csv (outside …)"."""
        count = len(self.items) if size is None else min(size, len(self.items))
        if self.scope == "held-out":
            outside = f"(outside the {self.split.describe()})"
            return f"{_count(count, 'held-out item')} of {self.label} {outside}"
        if self.scope == "test split":
            return f"{_count(count, 'item')} of {self.label}'s test split"
        return (
            f"the first {_count(count, 'item')} of {self.label} (a test set: all of it is held out)"
        )

    def describe_train(self) -> str:
        """Return what the baselines are fitted on."""
        return (
            f"baselines fitted on the {len(self.train):,} training items of {self.train_label} "
            f"(sampling {self.split.strategy}, seed {self.split.seed})"
        )

    def shortfall(self, size: int) -> str | None:
        """Return one line when fewer than ``size`` items are there to score, else None."""
        if len(self.items) >= size:
            return None
        count = len(self.items)
        which = "it" if count == 1 else "all of them"
        return f"only {_count(count, 'item')} to score, not {size:,}: scoring {which}"

    def require(self, hint: str) -> None:
        """Raise ``EvaluationError`` (one line, ending with ``hint``) when nothing is held out."""
        if self.items:
            return
        if self.scope != "held-out":
            raise EvaluationError(f"{self.label}: holds no items to score")
        raise EvaluationError(
            f"{self.label}: no held-out items to score: its {self.total:,} items all go to the "
            f"{self.split.describe()}; {hint}"
        )


def _smaller(split: SplitSettings, available: int) -> SplitSettings | None:
    """Return ``split`` fitted to leave some of ``available`` held out, as the dashboard does."""
    train, validation = fit_sizes(split.train, split.validation, available, keep_fitting=False)
    if available - train - validation < 1 or train < 1:
        return None
    return replace(split, train=train, validation=validation)


def size_hint(split: SplitSettings, available: int) -> str:
    """Return sizes to try on a source of ``available`` items ("lower ...: try --train 41 ...")."""
    smaller = _smaller(split, available)
    if smaller is None:
        return "it is too small to split: add items"
    left = available - smaller.train - smaller.validation
    sizes = f"--train {smaller.train:,} --validation {smaller.validation:,}"
    return f"lower --train/--validation: try {sizes} (leaving {left:,} for evaluate)"


def is_test_set(source: str | os.PathLike[str]) -> bool:
    """Return True for a course test set: a pickle whose file name starts with "test"."""
    path = Path(source)
    return path.suffix.lower() in PICKLE_SUFFIXES and path.name.lower().startswith("test")


def split_to_settings(split: SplitSettings) -> dict[str, Any]:
    """Return the split settings as a run records them."""
    return {
        "train": split.train,
        "validation": split.validation,
        "seed": split.seed,
        "sampling": split.strategy,
    }


def split_from_settings(recorded: Any) -> SplitSettings:
    """Return the split a run recorded; ``prepare``'s defaults for a run that recorded none."""
    if not isinstance(recorded, dict):
        return SplitSettings()
    default = SplitSettings()
    try:
        return SplitSettings(
            train=int(recorded.get("train", default.train)),
            validation=int(recorded.get("validation", default.validation)),
            seed=int(recorded.get("seed", default.seed)),
            strategy=recorded.get("sampling", default.strategy),
        )
    except (TypeError, ValueError):
        raise EvaluationError("the recorded split settings are not numbers") from None


def _draw(items: Sequence[Item], label: str, split: SplitSettings) -> Split:
    try:
        return split_items(
            items,
            train=split.train,
            validation=split.validation,
            seed=split.seed,
            strategy=split.strategy,
        )
    except SamplingError as err:
        raise SamplingError(f"{label}: {str(err).removeprefix('sampling: ')}") from None


def training_split(items: Sequence[Item], label: str, split: SplitSettings) -> list[Item]:
    """Return the training part of ``split`` drawn from ``items``; errors name ``label``."""
    return _draw(items, label, split).train


def held_out_items(items: Sequence[Item], label: str, split: SplitSettings) -> EvaluationItems:
    """Return the held-out items of ``items`` (none when the split takes them all)."""
    if len(items) <= split.train + split.validation:
        return EvaluationItems([], [], "held-out", label, split, label, len(items))
    drawn = _draw(items, label, split)
    scored = held_out(items, drawn, seed=split.seed, strategy=split.strategy)
    return EvaluationItems(scored, drawn.train, "held-out", label, split, label, len(items))


def _label(source: str) -> str:
    return SAMPLE_LABEL if source == SAMPLE else Path(source).name


def _load(
    source: str,
    split: Literal["train", "test", "all"] = "all",
    overrides: ColumnOverrides | None = None,
) -> LoadedItems:
    return load_items(source, split=split, overrides=overrides)


def _same_file(one: str, other: str) -> bool:
    return one == other or Path(one).expanduser().resolve() == Path(other).expanduser().resolve()


def _train_items(source: str, split: SplitSettings, fit: bool) -> list[Item]:
    if not fit:
        return []
    return training_split(_load(source, "train").items, _label(source), split)


def choose_items(
    source: str,
    *,
    split: SplitSettings,
    train_source: str | None = None,
    fit_baselines: bool = True,
    overrides: ColumnOverrides | None = None,
) -> EvaluationItems:
    """Load what an evaluation of ``source`` scores and what its baselines are fitted on.

    ``train_source`` (default: ``source`` itself, or the built-in sample for a test set) gives
    the baselines' training split; with ``fit_baselines=False`` nothing is loaded for them.
    ``overrides`` names columns of ``source`` as ``prepare`` was told, so the split is the same.
    Raises ``SourceError`` or ``SamplingError`` for data that cannot be read or split.
    """
    if source == SAMPLE or is_test_set(source):
        scope: Scope = "test split" if source == SAMPLE else "test set"
        trained_on = train_source or SAMPLE
        scored = _load(source, "test").items
        train = _train_items(trained_on, split, fit_baselines)
        label = _label(source)
        return EvaluationItems(scored, train, scope, label, split, _label(trained_on), len(scored))
    loaded = _load(source, overrides=overrides)
    chosen = replace(held_out_items(loaded.items, _label(source), split), mapping=loaded.mapping)
    if fit_baselines and train_source is not None and not _same_file(train_source, source):
        train = _train_items(str(train_source), split, fit_baselines)
        return replace(chosen, train=train, train_label=_label(str(train_source)))
    return chosen if fit_baselines else replace(chosen, train=[])
