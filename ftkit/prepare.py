"""The prepare pipeline: load items, draw the split, render messages, write both JSONL files."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ftkit.errors import OutputError
from ftkit.items import Item
from ftkit.jsonl import write_files_together, write_jsonl
from ftkit.messages import Templates, leaked_fields, render_examples
from ftkit.sampling import Split, Strategy, split_items
from ftkit.sources import ColumnMapping, LoadedItems, load_items

__all__ = [
    "TRAIN_FILENAME",
    "VALIDATION_FILENAME",
    "PrepareResult",
    "prepare",
    "write_split",
]

TRAIN_FILENAME = "fine_tune_train.jsonl"
VALIDATION_FILENAME = "fine_tune_validation.jsonl"


@dataclass(frozen=True)
class PrepareResult:
    """What ``prepare`` loaded, drew and wrote."""

    source: str
    loaded: int
    rows: int
    dropped: dict[str, int]
    train_path: Path
    validation_path: Path | None
    train_count: int
    validation_count: int
    skipped_duplicates: int = 0
    warnings: list[str] = field(default_factory=list)


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{folder}: cannot create the output folder ({err.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: the output folder is not writable")


def _writer(items: Sequence[Item], templates: Templates | None) -> Callable[[Path], int]:
    return lambda path: write_jsonl(path, render_examples(items, templates), check_floats=False)


def write_split(
    split: Split,
    out_dir: str | os.PathLike[str],
    templates: Templates | None = None,
    *,
    train_name: str = TRAIN_FILENAME,
    validation_name: str = VALIDATION_FILENAME,
) -> tuple[Path, Path | None]:
    """Write the split's two JSONL files; neither replaces an old file unless both succeed.

    Each file is first written in full to a staging name beside its target, then both are
    moved into place. With an empty validation split only the training file is written.
    """
    folder = Path(out_dir)
    _check_writable(folder)
    train_path = folder / train_name
    validation_path = folder / validation_name if split.validation else None
    plan = [
        (target, _writer(items, templates))
        for items, target in ((split.train, train_path), (split.validation, validation_path))
        if target is not None
    ]
    write_files_together(plan, folder=folder, what="output")
    return train_path, validation_path


def prepare(
    source: str | os.PathLike[str] = "sample",
    *,
    train: int = 500,
    validation: int = 50,
    seed: int = 42,
    strategy: Strategy = "first",
    templates: Templates | None = None,
    out_dir: str | os.PathLike[str] = ".",
    mapping: ColumnMapping | None = None,
    loaded: LoadedItems | None = None,
) -> PrepareResult:
    """Run the whole pipeline; raise an ``FtkitError`` subclass on bad input.

    Pass ``loaded`` to reuse items already in memory (the dashboard does).
    """
    templates = templates or Templates()
    _check_writable(Path(out_dir))
    data = loaded or load_items(source, mapping=mapping)
    split = split_items(
        data.items, train=train, validation=validation, seed=seed, strategy=strategy
    )
    train_path, validation_path = write_split(split, out_dir, templates)
    warnings = [
        f"the user template uses {{{name}}}, which reveals the price to the model"
        for name in leaked_fields(templates)
    ]
    return PrepareResult(
        source=data.source,
        loaded=len(data.items),
        rows=data.rows,
        dropped=data.dropped,
        train_path=train_path,
        validation_path=validation_path,
        train_count=len(split.train),
        validation_count=len(split.validation),
        skipped_duplicates=split.skipped_duplicates,
        warnings=warnings,
    )
