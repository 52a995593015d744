"""Portable exports: the same split, in the formats other trainers accept, checked first.

``export_support(examples, validation)`` says which trainers can take a split and why not;
``write_export`` checks and writes one format atomically; ``read_export`` reads it back.
"""

from __future__ import annotations

from ftkit.exports.check import FormatSupport, check_split, export_support
from ftkit.exports.convert import ChatMessage, Conversation, from_record, to_record
from ftkit.exports.files import (
    ExportResult,
    export_paths,
    load_examples,
    read_export,
    read_parquet,
    write_export,
)
from ftkit.exports.rules import AS_OF, FORMATS, RULES, FormatName, TrainerRules

__all__ = [
    "AS_OF",
    "FORMATS",
    "RULES",
    "ChatMessage",
    "Conversation",
    "ExportResult",
    "FormatName",
    "FormatSupport",
    "TrainerRules",
    "check_split",
    "export_paths",
    "export_support",
    "from_record",
    "load_examples",
    "read_export",
    "read_parquet",
    "to_record",
    "write_export",
]
