"""Where a framed pickle's top-level list can be cut, and reading it in parts.

A pickle of protocol 4 or 5 (the course's) is written in frames of about 64 KB (a FRAME opcode
and an 8-byte length), and a list in it as batches of items (MARK ... APPENDS). ``find_cut``
finds a place between two batches; ``head_parts`` and ``rest_parts`` are the pickle before it
(ending in STOP) and after it (starting a new list), for a ``Stream`` to read in order.
"""

from __future__ import annotations

import io
import pickletools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "STOP",
    "Buffer",
    "Cut",
    "Stream",
    "find_cut",
    "frame",
    "head_parts",
    "rest_parts",
]

_PROTO, _FRAME = 0x80, 0x95
_APPENDS_MARK = b"e("  # the end of one batch of items and the start of the next
_MARK = b"("
STOP, _EMPTY_LIST = b".", b"]"
_LENGTH = struct.Struct("<Q")


class Buffer(Protocol):
    """What a pickle is read from here: ``bytes`` or an ``mmap``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: Any, /) -> Any: ...

    def find(self, sub: bytes, start: int = ..., end: int = ..., /) -> int: ...


@dataclass(frozen=True)
class Cut:
    """A place between two batches of the top-level list, inside the frame at ``header``."""

    header: int  # the FRAME opcode
    start: int  # the frame's first byte
    at: int  # the cut: the MARK that starts the next batch
    end: int  # one past the frame's last byte


def find_cut(data: Buffer, target: int, *, search: int = 16 << 20) -> Cut | None:
    """Return the first cut at or after byte ``target``, or None.

    Only a pickle framed from its start (protocol 4 or 5) can be cut. Its frames are walked by
    their lengths; a frame past ``target`` is read opcode by opcode only if it holds the bytes
    of APPENDS followed by MARK, and no further than ``search`` bytes past ``target``.
    """
    size = len(data)
    if size < 16 or data[0] != _PROTO or data[1] < 4:
        return None
    header = 2
    while header + 9 <= size and data[header] == _FRAME:
        start = header + 9
        end = start + _LENGTH.unpack_from(data[header + 1 : start])[0]
        if end > size:
            return None
        if end > target:
            at = _batch_end(data, start, end)
            if at is not None:
                return Cut(header, start, at, end)
            if end - target > search:
                return None
        header = end
    return None


def _batch_end(data: Buffer, start: int, end: int) -> int | None:
    """Return the offset of a MARK that directly follows an APPENDS in frame ``start:end``."""
    if data.find(_APPENDS_MARK, start, end) < 0:
        return None
    try:
        for opcode, _, offset in pickletools.genops(io.BytesIO(data[start:end])):
            position = start + (offset or 0)
            if opcode.code == "e" and data[position + 1 : position + 2] == _MARK:
                return position + 1
    except ValueError:  # a frame's opcodes end without a STOP, as all but the last one's do
        pass
    return None


def frame(payload: bytes) -> bytes:
    """Return ``payload`` as one frame: FRAME, its 8-byte length, then the bytes."""
    return bytes([_FRAME]) + _LENGTH.pack(len(payload)) + payload


class Stream:
    """A file-like reader over a list of ``(buffer, start, stop)`` parts, read in order."""

    def __init__(self, parts: Sequence[tuple[Buffer | bytes, int, int]]) -> None:
        self.parts = list(parts)

    def then(self, *opcodes: bytes, after: bytes = b"") -> None:
        """Make the next reads return ``opcodes`` in one frame (one read), then ``after``."""
        payload = frame(b"".join(opcodes))
        self.parts = [(payload, 0, len(payload)), (after, 0, len(after))]

    def read(self, size: int = -1) -> bytes:
        chunks: list[bytes] = []
        while self.parts and size != 0:
            source, position, stop = self.parts[0]
            take = stop - position if size < 0 else min(size, stop - position)
            chunks.append(bytes(source[position : position + take]))
            if position + take == stop:
                self.parts.pop(0)
            else:
                self.parts[0] = (source, position + take, stop)
            if size > 0:
                size -= take
        return b"".join(chunks)

    def readline(self) -> bytes:  # only text-protocol opcodes read lines; these pickles have none
        chunks: list[bytes] = []
        while self.parts:
            source, position, stop = self.parts[0]
            newline = source.find(b"\n", position, stop)
            chunk = self.read((newline + 1 if newline >= 0 else stop) - position)
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                break
        return b"".join(chunks)


def head_parts(data: Buffer, cut: Cut) -> list[tuple[Buffer | bytes, int, int]]:
    """The pickle up to ``cut``, ending in STOP: the frame holding the cut is cut short."""
    last = frame(bytes(data[cut.start : cut.at]) + STOP)
    return [(data, 0, cut.header), (last, 0, len(last))]


def rest_parts(data: Buffer, cut: Cut) -> list[tuple[Buffer | bytes, int, int]]:
    """The pickle from ``cut`` on, as a new list: EMPTY_LIST, then the rest of the batches."""
    first = frame(_EMPTY_LIST + bytes(data[cut.at : cut.end]))
    return [(first, 0, len(first)), (data, cut.end, len(data))]
