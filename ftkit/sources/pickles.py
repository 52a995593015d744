"""Load the course's pickles safely, without the course's ``items`` module.

The course's ``train.pkl`` and ``test.pkl`` hold lists of ``items.Item`` objects. Unpickling
them normally imports the course's ``items.py``, which downloads a gated tokenizer. Here a
restricted unpickler maps ``items.Item`` (and ``__main__.Item``) onto ``ftkit.Item`` and refuses
every other global, so a malicious pickle is rejected before anything in it can run.
"""

from __future__ import annotations

import gc
import io
import mmap
import os
import pickle
import threading
from pathlib import Path
from typing import Any, Protocol

from ftkit.dataset.jsonl import Digest
from ftkit.errors import PickleRefusedError, SourceError
from ftkit.items import Item

__all__ = [
    "ALLOWED_GLOBALS",
    "RestrictedUnpickler",
    "load_course_pickle",
    "loads_course_pickle",
]

ALLOWED_GLOBALS: dict[tuple[str, str], type] = {
    ("items", "Item"): Item,
    ("__main__", "Item"): Item,
    ("ftkit.items", "Item"): Item,
}


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
                f"{self._label}: refused to load '{module}.{name}'; ftkit only loads pickles of "
                "the course's items.Item (a pickle can run code, so nothing else is allowed)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise PickleRefusedError(f"{self._label}: refused a persistent reference in the pickle")


def _unpickle(file: io.BufferedIOBase | mmap.mmap, label: str) -> list[Item]:
    enabled = gc.isenabled()
    gc.disable()  # 400,000 new objects would otherwise trigger many full collections
    unpickler = RestrictedUnpickler(file, label)
    try:
        data = unpickler.load()
    except PickleRefusedError:
        raise
    except MemoryError:
        raise SourceError(f"{label}: not enough memory to load this pickle") from None
    except Exception as err:  # any corrupt pickle: UnpicklingError, EOFError, ValueError, ...
        raise SourceError(f"{label}: not a readable pickle ({type(err).__name__}: {err})") from None
    finally:
        if enabled:
            gc.enable()
    if isinstance(data, Item):
        data = [data]
    if not isinstance(data, list) or not set(map(type, data)) <= {Item}:
        raise SourceError(f"{label}: expected a list of the course's Item objects")
    return data


def load_course_pickle(path: str | os.PathLike[str], *, digest: Digest | None = None) -> list[Item]:
    """Load a course pickle from a local path; raise ``SourceError`` on anything else.

    The file is memory-mapped. With ``digest`` (a ``hashlib`` object) the mapped bytes are
    hashed on a second thread while they are unpickled: ``hashlib`` holds no GIL over one
    large buffer, so the content hash costs little time and covers exactly the bytes loaded.
    """
    source = Path(path)
    try:
        handle = source.open("rb")
        size = os.fstat(handle.fileno()).st_size
    except OSError as err:
        raise SourceError(f"{source}: cannot read ({err.strerror or err})") from None
    with handle:
        if size == 0:
            raise SourceError(f"{source}: not a readable pickle (the file is empty)")
        try:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # a special file: read it as a stream instead
            if digest is not None:
                digest.update(source.read_bytes())
            return _unpickle(io.BufferedReader(handle, buffer_size=1 << 20), str(source))
        with mapped:
            hashing = None
            if digest is not None:
                hashing = threading.Thread(target=digest.update, args=(mapped,), daemon=True)
                hashing.start()
            try:
                return _unpickle(mapped, str(source))
            finally:
                if hashing is not None:
                    hashing.join()


def loads_course_pickle(data: bytes, label: str = "pickle") -> list[Item]:
    """Load a course pickle from bytes already in memory (tests and benchmarks)."""
    return _unpickle(io.BytesIO(data), label)
