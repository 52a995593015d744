"""What the export writes, without writing it: JSONL bytes of a split, and file previews."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ftkit.dataset.messages import Templates, encode_examples
from ftkit.errors import SourceError
from ftkit.items import Item

__all__ = ["count_lines", "head_lines", "jsonl_bytes"]


def jsonl_bytes(items: Sequence[Item], templates: Templates) -> bytes:
    """Return the JSONL file ``write_split`` would write for ``items``, byte for byte."""
    return b"".join(encode_examples(items, templates))


def count_lines(path: str | os.PathLike[str]) -> int:
    """Return the number of non-blank lines in a file; raise ``SourceError`` if unreadable."""
    source = Path(path)
    count = 0
    try:
        with source.open("rb") as handle:
            for line in handle:
                count += bool(line.strip())
    except OSError as err:
        raise SourceError(f"{source}: cannot read ({err.strerror or err})") from None
    return count


def head_lines(path: str | os.PathLike[str], n: int = 3) -> list[str]:
    """Return the first ``n`` lines of a text file, without their newlines."""
    source = Path(path)
    lines: list[str] = []
    try:
        with source.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                lines.append(line.rstrip("\n"))
                if len(lines) == n:
                    break
    except OSError as err:
        raise SourceError(f"{source}: cannot read ({err.strerror or err})") from None
    return lines
