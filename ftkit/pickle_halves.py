"""Load a course pickle in two parts: the first part here, the rest in another process.

``ftkit.pickle_frames.find_cut`` finds a place between two batches of a course pickle's items;
the part before it loads as a list of its own (``Head``), and so does the part after it, which is
what a forked child loads (``load_rest_seeded``) while this process loads the head.

The rest cannot be unpickled on its own: its items refer back to objects of the head through the
unpickler's memo (the class, the attribute names, a category string shared by many items), and
the indices that its MEMOIZE opcodes assign depend on how many objects the head memoized. The
child therefore

- loads the pickle's first batch itself, which memoizes what later items refer to in a course
  pickle (the class and the attribute names);
- fills the memo up to the head's length (``Head.memo_length``) with one placeholder, the *hole*;
- loads the rest, and gives up (returns None) if any of it kept a reference to the hole (the
  rest needed an object of the head that the child does not have), or changed an object of the
  first batch.

That is the same result as loading the pickle whole only if the head's memo holds exactly its
first ``length`` indices and its first batch's objects are as the child loaded them; the parent
checks both (``Head.memo_is_whole``, ``Head.first_batch_matches``) before it uses what the child
made. Whenever anything differs the caller loads the rest itself (``Head.load_rest``), and for
anything unusual (a refused global, a corrupt pickle) it loads the whole pickle the usual way, so
errors read exactly as they do without a split.
"""

from __future__ import annotations

import gc
import struct
import sys
from array import array
from typing import Any

from ftkit.items import Item
from ftkit.pickle_frames import STOP, Buffer, Cut, Stream, head_parts, rest_parts
from ftkit.pickles import RestrictedUnpickler

__all__ = ["Head", "load_rest_seeded"]

# The opcodes this module writes, besides STOP.
_MARK, _LIST, _NONE, _POP = b"(", b"l", b"N", b"0"
_LONG_BINGET, _LONG_BINPUT, _MEMOIZE, _BINPERSID = b"j", b"r", b"\x94", b"Q"
_INDEX = struct.Struct("<I")
_MAX_INDEX = (1 << 32) - 1  # what LONG_BINGET can address


def _all_items(data: object) -> bool:
    return isinstance(data, list) and set(map(type, data)) <= {Item}


def _gets(start: int, stop: int, after: bytes) -> bytes:
    """LONG_BINGET of each memo index in ``start:stop``, each followed by ``after``."""
    count = stop - start
    width = 5 + len(after)
    out = bytearray(width * count)
    out[0::width] = _LONG_BINGET * count
    indices = array("I", range(start, stop))
    if indices.itemsize != 4:  # pragma: no cover - every platform ftkit runs on has 4
        indices = array("L", range(start, stop))
    if sys.byteorder == "big":  # pragma: no cover
        indices.byteswap()
    raw = indices.tobytes()
    for byte in range(4):
        out[1 + byte :: width] = raw[byte::4]
    for position, value in enumerate(after):
        out[5 + position :: width] = bytes([value]) * count
    return bytes(out)


class _Memo:
    """Read an unpickler's memo with small pickles of LONG_BINGET opcodes (nothing is copied).

    Make it before the unpickler loads anything: it counts what the unpickler refers to then,
    so that ``count`` can tell the memo's objects from the rest.

    An opcode that fails leaves the rest of its frame unread, and the unpickler would read that
    first on its next ``load``. ``has`` puts its one opcode last in its frame, so it leaves
    nothing behind; after any other read fails, ``spoiled`` is True and the unpickler must not
    load anything more.
    """

    def __init__(self, unpickler: RestrictedUnpickler, stream: Stream) -> None:
        self._unpickler = unpickler
        self._stream = stream
        self._others = len(gc.get_referents(unpickler))
        self.spoiled = False

    def _load(self, *opcodes: bytes) -> Any:
        self._stream.then(*opcodes)
        try:
            return self._unpickler.load()
        except BaseException:
            self.spoiled = True
            raise

    def count(self) -> int:
        """Return how many objects the memo holds, wherever they are (the collector's view)."""
        return len(gc.get_referents(self._unpickler)) - self._others

    def has(self, index: int) -> bool:
        self._stream.then(_LONG_BINGET, _INDEX.pack(index), after=STOP)
        try:
            self._unpickler.load()
        except Exception:  # "Memo value not found at index ...", with nothing left unread
            return False
        return True

    def length(self) -> int:
        """Return the memo's first free index: its length, if ``whole`` says so."""
        if not self.has(0):
            return 0
        low, high = 0, 1
        while high < _MAX_INDEX and self.has(high):
            low, high = high, min(high * 2, _MAX_INDEX)
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if self.has(middle) else (low, middle)
        return high

    def whole(self, length: int) -> bool:
        """Return True if the memo holds indices ``0:length`` and nothing else."""
        if self.count() != length:
            return False
        try:
            self._load(_gets(0, length, _POP), _NONE, STOP)
        except Exception:
            return False
        return True

    def values(self, start: int, stop: int) -> list[Any]:
        """Return the objects at indices ``start:stop``; raise if one is missing."""
        values: list[Any] = self._load(_MARK, _gets(start, stop, b""), _LIST, STOP)
        return values


def _same(one: object, other: object) -> bool:
    """Return True if two loaded objects hold the same values (an item: all its attributes)."""
    if type(one) is not type(other):
        return False
    if isinstance(one, Item):
        return vars(one) == vars(other)
    try:
        return bool(one == other)
    except Exception:
        return False


def _first_batch_values(data: Buffer, first: Cut, label: str) -> list[Any] | None:
    """Return what the first batch memoizes, from index 1 (0 is the list); None if unusual."""
    try:
        stream = Stream(head_parts(data, first))
        unpickler = RestrictedUnpickler(stream, label)
        memo = _Memo(unpickler, stream)
        if not _all_items(unpickler.load()):
            return None
        length = memo.length()
        return memo.values(1, length) if memo.whole(length) else None
    except Exception:
        return None


def _matches(memo: _Memo, expected: list[Any]) -> bool:
    """Return True if indices ``1:len(expected) + 1`` of ``memo`` hold ``expected``'s values."""
    try:
        return all(map(_same, memo.values(1, len(expected) + 1), expected))
    except Exception:
        return False


class Head:
    """The part of a pickle before ``cut``, loaded in this process (see the module's notes)."""

    def __init__(self, data: Buffer, cut: Cut, label: str) -> None:
        self._data = data
        self._cut = cut
        self._label = label
        self._stream = Stream(head_parts(data, cut))
        self.unpickler = RestrictedUnpickler(self._stream, label)
        self._memo = _Memo(self.unpickler, self._stream)

    def load(self) -> list[Item] | None:
        """Load the head; None if it is not a list of items (the cut is not in the top list).

        Raises what unpickling raises (``PickleRefusedError`` for a refused global).
        """
        head = self.unpickler.load()
        return head if _all_items(head) else None

    def memo_length(self) -> int:
        """Return the head's memo length, quickly; ``memo_is_whole`` proves it."""
        return self._memo.length()

    def memo_is_whole(self, length: int) -> bool:
        """Return True if the memo holds indices ``0:length`` and nothing else."""
        return self._memo.whole(length)

    def first_batch_matches(self, first: Cut) -> bool:
        """Return True if the first batch's memoized objects are still what it loaded as."""
        expected = _first_batch_values(self._data, first, self._label)
        return expected is not None and _matches(self._memo, expected)

    def load_rest(self) -> list[Item] | None:
        """Load the rest of the pickle here, after the head; None if it is not a list of items.

        Raises what unpickling raises, and ``ValueError`` if a failed check left the unpickler
        unable to go on (the caller then loads the whole pickle anew).
        """
        if self._memo.spoiled:
            raise ValueError("the head's unpickler cannot go on")
        self._stream.parts = rest_parts(self._data, self._cut)
        rest = self.unpickler.load()
        return rest if _all_items(rest) else None


class _SeededUnpickler(RestrictedUnpickler):
    """A restricted unpickler whose first persistent reference (and only that) is ``hole``."""

    def __init__(self, file: Stream, label: str, hole: object) -> None:
        super().__init__(file, label)
        self._hole: object | None = hole

    def persistent_load(self, pid: Any) -> Any:
        if pid is None and self._hole is not None:
            hole, self._hole = self._hole, None
            return hole
        return super().persistent_load(pid)


def load_rest_seeded(
    data: Buffer, first: Cut, cut: Cut, length: int, label: str
) -> list[Item] | None:
    """Load the items after ``cut`` without the head (in the child); None if they need it.

    ``length`` is the head's memo length (``Head.memo_length``). Never raises: whatever goes
    wrong, the caller loads the rest itself.
    """
    try:
        expected = _first_batch_values(data, first, label)
        hole = object()
        stream = Stream(head_parts(data, first))
        unpickler = _SeededUnpickler(stream, label, hole)
        memo = _Memo(unpickler, stream)
        unpickler.load()
        known = memo.length()
        if expected is None or known != len(expected) + 1 or known > length:
            return None
        # the hole in place of the top-level list (index 0) and of every later head object
        stream.then(
            _NONE, _BINPERSID, _LONG_BINPUT, _INDEX.pack(0), _MEMOIZE * (length - known), STOP
        )
        # (the first batch's memo is whole, as ``_first_batch_values`` proved on the same bytes)
        if unpickler.load() is not hole or not memo.has(length - 1) or memo.has(length):
            return None
        referenced = sys.getrefcount(hole)
        stream.parts = rest_parts(data, cut)
        rest: list[Item] = unpickler.load()
        if sys.getrefcount(hole) != referenced or not _all_items(rest):
            return None  # the rest refers to an object of the head, or is not a list of items
        if not _matches(memo, expected):  # ... or it changed an object of the first batch
            return None
    except Exception:
        return None
    return rest
