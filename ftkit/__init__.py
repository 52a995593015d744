"""ftkit: items to chat fine-tuning data, checked, priced, uploaded, trained and measured.

The public surface is small; each name lives in a module named for its noun::

    items = ftkit.load_items("sample").items
    split = ftkit.split_items(items, train=500, validation=50)
    ftkit.write_split(split, "out/")
    report = ftkit.check_file("out/fine_tune_train.jsonl")
"""

from __future__ import annotations

import typing

from ftkit.dataset.jsonl import read_jsonl, write_jsonl
from ftkit.dataset.messages import Templates, render_examples, render_messages
from ftkit.dataset.prepare import PrepareResult, prepare, write_split
from ftkit.dataset.sampling import Split, split_items
from ftkit.errors import (
    CheckError,
    FtkitError,
    OutputError,
    PickleRefusedError,
    SamplingError,
    SourceError,
    TemplateError,
)
from ftkit.items import Item
from ftkit.sources.load import ColumnMapping, LoadedItems, load_items

if typing.TYPE_CHECKING:
    from ftkit.preflight.scan import CheckReport, check_file

__all__ = [
    "CheckError",
    "CheckReport",
    "ColumnMapping",
    "FtkitError",
    "Item",
    "LoadedItems",
    "OutputError",
    "PickleRefusedError",
    "PrepareResult",
    "SamplingError",
    "SourceError",
    "Split",
    "TemplateError",
    "Templates",
    "check_file",
    "load_items",
    "prepare",
    "read_jsonl",
    "render_examples",
    "render_messages",
    "split_items",
    "write_jsonl",
    "write_split",
]
__version__ = "0.1.0"


_FROM_CHECK = ("CheckReport", "check_file")


def __getattr__(name: str) -> typing.Any:
    """Load the checker on first use: it brings the tokenizer, which ``prepare`` never needs."""
    if name in _FROM_CHECK:
        from ftkit.preflight import scan as check

        value = getattr(check, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ftkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM_CHECK})
