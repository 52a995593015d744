"""The prepare pipeline: load items, draw the split, render messages, write both JSONL files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ftkit.dataset.jsonl import Digest, write_encoded, write_files_together
from ftkit.dataset.messages import Templates, encode_examples, leaked_fields
from ftkit.dataset.sampling import Split, Strategy, split_items
from ftkit.errors import OutputError
from ftkit.sources.load import ColumnMapping, LoadedItems, load_items

__all__ = [
    "TRAIN_FILENAME",
    "VALIDATION_FILENAME",
    "PrepareResult",
    "WrittenSplit",
    "check_output_folder",
    "leak_warnings",
    "prepare",
    "write_split",
    "write_split_hashed",
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
    train_sha256: str | None = None
    validation_sha256: str | None = None
    dataset_hash: str | None = None  # "sha256:<hex>" of the source, taken while loading it


def check_output_folder(folder: Path) -> None:
    """Create ``folder`` if need be; raise ``OutputError`` when files cannot be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{folder}: cannot create the output folder ({err.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: the output folder is not writable")


def _writer(lines: Iterable[bytes], digest: Digest | None) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        write_encoded(path, lines, digest=digest)

    return write


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
    moved into place, all under a lock on the folder: while another run writes there this
    raises ``OutputError`` and writes nothing (see ``write_files_together``). With an empty
    validation split only the training file is written.
    """
    written = _write_split(split, Path(out_dir), templates, train_name, validation_name)
    return written.train_path, written.validation_path


def write_split_hashed(
    split: Split, out_dir: str | os.PathLike[str], templates: Templates | None = None
) -> WrittenSplit:
    """Write the split like ``write_split``; also return each file's ``sha256:<hex>``."""
    return _write_split(split, Path(out_dir), templates, TRAIN_FILENAME, VALIDATION_FILENAME)


@dataclass(frozen=True)
class WrittenSplit:
    """The files ``write_split_hashed`` wrote and the sha256 of each, taken while writing."""

    train_path: Path
    validation_path: Path | None
    train_sha256: str | None  # None only when written with hashed=False
    validation_sha256: str | None


def _write_split(
    split: Split,
    folder: Path,
    templates: Templates | None,
    train_name: str,
    validation_name: str,
    *,
    hashed: bool = True,
) -> WrittenSplit:
    check_output_folder(folder)
    train_path = folder / train_name
    validation_path = folder / validation_name if split.validation else None
    train_digest = hashlib.sha256() if hashed else None
    validation_digest = hashlib.sha256() if hashed else None
    plan = [(train_path, _writer(encode_examples(split.train, templates), train_digest))]
    if validation_path is not None:
        lines = encode_examples(split.validation, templates)
        plan.append((validation_path, _writer(lines, validation_digest)))
    write_files_together(plan, folder=folder, what="output")
    return WrittenSplit(
        train_path,
        validation_path,
        f"sha256:{train_digest.hexdigest()}" if train_digest else None,
        f"sha256:{validation_digest.hexdigest()}"
        if validation_digest and validation_path
        else None,
    )


def leak_warnings(templates: Templates) -> list[str]:
    """Return a warning for each field of the user template that reveals the price."""
    return [
        f"the user template uses {{{name}}}, which reveals the price to the model"
        for name in leaked_fields(templates)
    ]


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
    hash_outputs: bool = True,
) -> PrepareResult:
    """Run the whole pipeline; raise an ``FtkitError`` subclass on bad input.

    Pass ``loaded`` to reuse items already in memory (the dashboard does). With
    ``hash_outputs=False`` the result carries no sha256 of the written files (by default each
    file is hashed as it is written).
    """
    templates = templates or Templates()
    check_output_folder(Path(out_dir))
    data = loaded or load_items(source, mapping=mapping)
    split = split_items(
        data.items, train=train, validation=validation, seed=seed, strategy=strategy
    )
    written = _write_split(
        split, Path(out_dir), templates, TRAIN_FILENAME, VALIDATION_FILENAME, hashed=hash_outputs
    )
    return PrepareResult(
        source=data.source,
        loaded=len(data.items),
        rows=data.rows,
        dropped=data.dropped,
        train_path=written.train_path,
        validation_path=written.validation_path,
        train_count=len(split.train),
        validation_count=len(split.validation),
        skipped_duplicates=split.skipped_duplicates,
        warnings=[*leak_warnings(templates), *data.warnings()],
        dataset_hash=data.content_hash,
        train_sha256=written.train_sha256,
        validation_sha256=written.validation_sha256,
    )
