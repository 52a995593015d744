"""Load the course's pickles safely, without the course's ``items`` module.

The course's ``train.pkl`` and ``test.pkl`` hold lists of ``items.Item`` objects. Unpickling
them normally imports the course's ``items.py``, which downloads a gated tokenizer. Here a
restricted unpickler maps ``items.Item`` (and ``__main__.Item``) onto ``ftkit.Item`` and refuses
every other global, so a malicious pickle is rejected before anything in it can run.

A pickle is read, never memory-mapped (so a file cut short while it is read is a truncated
pickle, not a crash). One of up to ``SCAN_BYTES`` (the course's test set, any lecture-sized
split) is first scanned opcode by opcode within ``MAX_OPCODES``, ``MAX_STACK`` and a memo no
larger than what was read. The scan runs in Python at about five times the cost of the load,
so a larger pickle (the course's 800 MB training set) is loaded without it: its objects and
stack are bounded by its size, and a memo it cannot fit ends as "not enough memory". Either
way each item's attributes must be exactly text or numbers (``check_items``) before anything
else touches them, which is what stops a title built as a tuple graph with 8^41 leaves.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import pickletools
import stat
import threading
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any, Final, Protocol

from ftkit.dataset.jsonl import Digest
from ftkit.errors import PickleRefusedError, SourceError
from ftkit.items import Item
from ftkit.sources.sniff import require_regular_file

__all__ = [
    "ALLOWED_GLOBALS",
    "MAX_OPCODES",
    "MAX_STACK",
    "SCAN_BYTES",
    "RestrictedUnpickler",
    "check_items",
    "load_course_pickle",
    "loads_course_pickle",
    "scan_pickle",
]

ALLOWED_GLOBALS: dict[tuple[str, str], type] = {
    ("items", "Item"): Item,
    ("__main__", "Item"): Item,
    ("ftkit.items", "Item"): Item,
}
MAX_OPCODES: Final = 50_000_000  # the course's 400,000 items take about 10,000,000
MAX_STACK: Final = 100_000  # the pickler appends 1,000 items at a time
SCAN_BYTES: Final = 64 * 2**20  # scanned first: every pickle up to this size
_TEXT_FIELDS: Final = ("title", "prompt", "category", "details")
_REQUIRED: Final = ("title", "price", "prompt")
_PLAIN: Final = frozenset({str, int, float, bool, type(None)})  # the course's extras: int, bool
_MEMO_PUTS: Final = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


class Readable(Protocol):
    """What an unpickler reads from: ``read`` and ``readline``."""

    def read(self, size: int = ..., /) -> bytes: ...

    def readline(self) -> bytes: ...


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that maps the course's ``Item`` onto ftkit's and refuses every other global.

    ``label`` (the file's name) starts each error message.
    """

    def __init__(self, file: Readable, label: str) -> None:
        super().__init__(file)
        self._label = label

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise PickleRefusedError(
                f"{self._label}: refused to load '{_short(f'{module}.{name}')}'; ftkit only "
                "loads pickles of the course's items.Item (a pickle can run code, so nothing "
                "else is allowed)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise PickleRefusedError(f"{self._label}: refused a persistent reference in the pickle")


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "…"


def scan_pickle(data: bytes, label: str) -> None:
    """Raise ``SourceError`` unless ``data`` is one complete pickle within ftkit's bounds.

    Bounds: at most ``MAX_OPCODES`` opcodes (each makes at most one object), at most
    ``MAX_STACK`` entries on the unpickler's stack, and memo indexes below the count of
    opcodes read so far (a huge index would make the unpickler allocate a huge memo).
    """
    depth = 0  # the stack's size
    marks: list[int] = []  # where each open MARK sits on the stack
    count = 0  # opcodes read
    try:
        opcodes = islice(pickletools.genops(data), MAX_OPCODES)
        for count, (opcode, arg, _) in enumerate(opcodes, start=1):
            under, popped, pushed, effect = _EFFECTS[opcode]
            if effect == "memo" and isinstance(arg, int) and arg >= count:
                raise SourceError(f"{label}: refused, a memo index ({arg:,}) beyond the pickle")
            if under is None:
                depth -= popped
            elif marks:  # pops everything down to the last MARK, and what sits under it
                depth = marks.pop() - under
            else:
                raise ValueError(f"{opcode.name} without a MARK")
            if depth < 0:
                raise ValueError(f"{opcode.name} on an empty stack")
            if marks and marks[-1] >= depth:  # a POP took the MARK itself
                marks = [mark for mark in marks if mark < depth]
            if effect == "mark":
                marks.append(depth)
            depth += pushed
            if depth > MAX_STACK:
                raise SourceError(f"{label}: refused, nested deeper than {MAX_STACK:,} objects")
    except SourceError:
        raise
    except Exception:  # ValueError for truncated or corrupt data, and its relatives
        # the error's text may quote the data: say where it stopped instead
        where = f"corrupt or cut short after {count:,} opcodes"
        raise SourceError(f"{label}: not a readable pickle ({where})") from None
    if opcode.name != "STOP":
        raise SourceError(f"{label}: refused, over {MAX_OPCODES:,} objects in the pickle")


def _effect(opcode: pickletools.OpcodeInfo) -> tuple[int | None, int, int, str]:
    """Return what ``opcode`` does: (entries it keeps under the last MARK, or None when it pops
    no MARK; entries it pops; entries it pushes; "mark", "memo" (a memo index) or "")."""
    before, after = opcode.stack_before, opcode.stack_after
    mark = pickletools.markobject
    under = before.index(mark) if mark in before else None
    effect = "mark" if mark in after else "memo" if opcode.name in _MEMO_PUTS else ""
    return under, len(before), len(after), effect


_EFFECTS: Final = {opcode: _effect(opcode) for opcode in pickletools.opcodes}


def check_items(data: Any, label: str) -> list[Item]:
    """Return ``data`` as a list of items; raise ``SourceError`` unless each is plain.

    Plain: an ``Item`` whose attributes have text names and are exactly ``str``, ``int``,
    ``float``, ``bool`` or ``None``, with a title, a price and a prompt, and text in
    ``_TEXT_FIELDS``. Nothing is converted, compared or printed before these checks pass.
    """
    if type(data) is Item:
        data = [data]
    if type(data) is not list or not set(map(type, data)) <= {Item}:
        raise SourceError(f"{label}: expected a list of the course's Item objects")
    attributes: list[dict[str, Any]] = [item.__dict__ for item in data]
    if _all_plain(attributes):
        return data
    for number, fields in enumerate(attributes, start=1):
        problem = _item_problem(fields)
        if problem is not None:
            raise SourceError(f"{label}: item {number:,}{problem}")
    return data  # items of different shapes, each of them plain


def _all_plain(attributes: list[dict[str, Any]]) -> bool:
    """Return True when all items share one set of text names, every value is plain, with the
    required fields, and text where text belongs: one pass a field, each at C speed."""
    if len(shapes := set(map(frozenset, attributes))) != 1:
        return False  # the slow path checks item by item, and names what is wrong
    (names,) = shapes
    if not names >= set(_REQUIRED) or set(map(type, names)) != {str}:
        return False
    for name in names:
        kinds = set(map(type, map(itemgetter(name), attributes)))
        if not kinds <= ({str} if name in _TEXT_FIELDS else _PLAIN):
            return False
    return True


def _kind(value: object) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


def _item_problem(fields: dict[Any, Any]) -> str | None:
    """Return what is wrong with one item's attributes (to follow "item N"), or None."""
    for name, value in fields.items():
        if type(name) is not str:
            return f" has an attribute named by {_kind(name)}, not text"
        if type(value) not in _PLAIN:
            return f"'s {_short(name)!r} is {_kind(value)}; ftkit loads only text and numbers"
    for name in _REQUIRED:
        if name not in fields:
            return f" has no {name}"
    for name in _TEXT_FIELDS:
        if type(fields.get(name, "")) is not str:
            return f"'s {name} is {_kind(fields[name])}, not text"
    return None


def _unpickle(file: Readable, label: str) -> list[Item]:
    enabled = gc.isenabled()
    gc.disable()  # 400,000 new objects would otherwise trigger many full collections
    unpickler = RestrictedUnpickler(file, label)
    try:
        loaded = unpickler.load()
    except PickleRefusedError:
        raise
    except MemoryError:
        raise SourceError(f"{label}: not enough memory to load this pickle") from None
    except Exception as err:  # any corrupt pickle: UnpicklingError, EOFError, ValueError, ...
        problem = f"{type(err).__name__}: {_short(str(err))}"
        raise SourceError(f"{label}: not a readable pickle ({problem})") from None
    finally:
        if enabled:
            gc.enable()
    return check_items(loaded, label)


def load_course_pickle(path: str | os.PathLike[str], *, digest: Digest | None = None) -> list[Item]:
    """Load a course pickle from a local path; raise ``SourceError`` on anything else.

    The file is read, never memory-mapped (a file cut short while mapped kills the process), so
    a file cut short while it is read is refused as truncated. One of up to ``SCAN_BYTES`` is
    read whole, scanned, then loaded; a larger one is loaded as it is read. ``digest`` (a
    ``hashlib`` object) is updated with the file's bytes on a second thread, beside the load.
    """
    source = require_regular_file(path)  # opening a pipe would wait for a writer
    label = str(source)
    try:
        with source.open("rb", buffering=1 << 20) as handle:
            size = os.fstat(handle.fileno()).st_size
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced since
                raise SourceError(f"{source}: is no longer a regular file; give a file")
            if size == 0:
                raise SourceError(f"{source}: not a readable pickle (the file is empty)")
            hashing = None
            if digest is not None:  # hashlib and reads hold no GIL: this costs little time
                hashing = threading.Thread(target=_hash, args=(source, size, digest), daemon=True)
                hashing.start()
            try:
                if size > SCAN_BYTES:
                    return _unpickle(handle, label)
                return loads_course_pickle(handle.read(size), label)
            finally:
                if hashing is not None:
                    hashing.join()
    except OSError as err:
        raise SourceError(f"{source}: cannot read ({err.strerror or err})") from None
    except MemoryError:
        raise SourceError(f"{source}: not enough memory to read this pickle") from None


def _hash(source: Path, size: int, digest: Digest) -> None:
    """Update ``digest`` with the first ``size`` bytes of ``source`` (what the load reads)."""
    with contextlib.suppress(OSError), source.open("rb", buffering=0) as handle:
        while size > 0 and (block := handle.read(min(size, 1 << 24))):
            digest.update(block)
            size -= len(block)


def loads_course_pickle(data: bytes, label: str = "pickle") -> list[Item]:
    """Load a course pickle from bytes in memory: scanned first, then loaded."""
    scan_pickle(data, label)
    return _unpickle(io.BytesIO(data), label)
