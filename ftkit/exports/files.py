"""The edges: read the chat JSONL ``prepare`` wrote, write an export, read an export back.

An export is all or nothing: every file is written in full to a staging name beside its
target, checked, and only then moved into place, so a failure leaves no partial file and never
replaces an earlier good export.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ftkit.dataset.jsonl import atomic_writer, read_jsonl, write_files_together, write_jsonl
from ftkit.errors import ExportCheckError, OutputError, SourceError
from ftkit.exports.check import check_split
from ftkit.exports.convert import Conversation, from_record, to_record
from ftkit.exports.rules import RULES, FormatName

__all__ = [
    "PARQUET_SCHEMA",
    "ExportResult",
    "export_paths",
    "load_examples",
    "read_export",
    "read_parquet",
    "write_export",
]

PARQUET_SCHEMA = pa.schema(
    [("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])))]
)


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: its files (in write order) and how many examples each split has."""

    format: FormatName
    files: list[Path]
    examples: int
    validation_examples: int
    notes: list[str] = field(default_factory=list)


def export_paths(format: FormatName, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Return the files an export of ``format`` writes, keyed ``train``, ``validation`` (and
    ``train_parquet``, ``validation_parquet`` for hf-chat)."""
    folder = Path(out_dir)
    paths = {split: folder / f"{format}_{split}.jsonl" for split in ("train", "validation")}
    if format == "hf-chat":
        for split in ("train", "validation"):
            paths[f"{split}_parquet"] = folder / f"{format}_{split}.parquet"
    return paths


def load_examples(path: str | os.PathLike[str]) -> list[Any]:
    """Read a chat JSONL file; raise ``SourceError`` naming the file and the bad line."""
    return read_jsonl(path)


def _write_parquet(path: Path, conversations: Sequence[Conversation]) -> None:
    rows = [{"messages": conversation} for conversation in conversations]
    table = pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA)
    with atomic_writer(path) as handle:
        pq.write_table(table, handle)


def _jsonl_writer(
    format: FormatName, conversations: Sequence[Conversation]
) -> Callable[[Path], Any]:
    return lambda path: write_jsonl(path, (to_record(format, c) for c in conversations))


def _plan(
    format: FormatName, train: list[Conversation], validation: list[Conversation], folder: Path
) -> list[tuple[Path, Callable[[Path], Any]]]:
    """Return each target file with the function that writes it."""
    paths = export_paths(format, folder)
    plan: list[tuple[Path, Callable[[Path], Any]]] = [
        (paths["train"], _jsonl_writer(format, train))
    ]
    if validation:
        plan.append((paths["validation"], _jsonl_writer(format, validation)))
    if format == "hf-chat":
        plan.append((paths["train_parquet"], lambda path: _write_parquet(path, train)))
        if validation:
            plan.append(
                (paths["validation_parquet"], lambda path: _write_parquet(path, validation))
            )
    return plan


def write_export(
    format: FormatName,
    examples: Sequence[Any],
    validation: Sequence[Any] | None = None,
    *,
    out_dir: str | os.PathLike[str],
) -> ExportResult:
    """Check the split against ``format``'s rules, then write every file of the export.

    Raises ``ExportCheckError`` (nothing written) when the trainer cannot take the split, and
    ``OutputError`` when the folder cannot be written; either way earlier files stay as they were.
    """
    support = check_split(format, examples, validation)
    if not support["ok"]:
        raise ExportCheckError(format, support["trainer"], support["reasons"])
    folder = Path(out_dir)
    train = [example["messages"] for example in examples]
    valid = [example["messages"] for example in validation or ()]
    plan = _plan(format, train, valid, folder)
    for target, _ in plan:
        if target.exists() and not target.is_file():
            raise OutputError(f"{target}: is in the way (not a file); nothing was written")
    write_files_together(plan, folder=folder, what="export")
    notes = []
    if not valid:
        stale = [p for key, p in export_paths(format, folder).items() if "validation" in key]
        notes += [
            f"{p.name} is from an earlier export; this one has no validation split"
            for p in stale
            if p.exists()
        ]
    return ExportResult(format, [target for target, _ in plan], len(train), len(valid), notes)


def _read_records(format: FormatName, path: Path) -> list[Conversation]:
    conversations = []
    for number, record in enumerate(read_jsonl(path), start=1):
        try:
            conversations.append(from_record(format, record))
        except (KeyError, TypeError, AttributeError):
            raise SourceError(f"{path}: record {number} is not a {format} record") from None
    return conversations


def read_parquet(path: str | os.PathLike[str]) -> list[Conversation]:
    """Read an hf-chat Parquet file back to conversations."""
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowInvalid) as err:
        raise SourceError(f"{path}: cannot read it as Parquet ({err})") from None
    return [[{"role": m["role"], "content": m["content"]} for m in row["messages"]] for row in rows]


def read_export(
    format: FormatName, out_dir: str | os.PathLike[str]
) -> tuple[list[Conversation], list[Conversation]]:
    """Read an export's JSONL files back to (training, validation) conversations.

    The validation list is empty when the export has no validation file. Raises ``SourceError``
    for a missing training file or a record of another shape.
    """
    if format not in RULES:
        raise SourceError(f"unknown export format {format!r}")
    paths = export_paths(format, out_dir)
    train = _read_records(format, paths["train"])
    valid = _read_records(format, paths["validation"]) if paths["validation"].exists() else []
    return train, valid
