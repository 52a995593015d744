"""``prepare`` on a large course pickle with both cores: a forked child loads its second part.

Loading a 400,000-item pickle and encoding its lines are each about a second of work that one
Python process can only do on one core. Under ``python -m ftkit`` (where ``fork`` is safe, see
``ftkit.cli.recorder.fork_is_safe``) ``prepare_in_two`` splits the pickle between two batches of
items near the middle (``ftkit.pickle_halves``) and forks a child before loading anything:

- this process loads the first part, sends the child the length of its unpickler's memo, and
  encodes and writes its lines;
- meanwhile the child loads the second part, checks its items as ``load_items`` would, reports
  how many it kept, and encodes the lines this process asks for into an anonymous memory file;
- this process checks that the child's part was loaded as a whole-file load would have loaded
  it, then has the system copy those lines into the output after its own (``FileSegment``),
  while the child is still encoding the rest.

The output is byte for byte what one process writes. Nothing of the child's is used unless
every check passes; otherwise this process loads the second part itself and carries on as
usual, and for anything unusual in the pickle (a refused global, a corrupt or oddly built file)
it returns None and the caller loads the whole file the usual way, so every error reads as it
always does. Only the ``first`` sampling is split: the others need every item in one place.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ftkit.cli.pickle_child import Child, ChildLost
from ftkit.cli.recorder import fork_is_safe
from ftkit.errors import FtkitError
from ftkit.items import Item
from ftkit.jsonl import FileSegment
from ftkit.messages import Templates, encode_examples
from ftkit.pickle_frames import Cut, find_cut
from ftkit.pickle_halves import Head
from ftkit.pickles import Keep, unmap
from ftkit.prepare import PrepareResult, leak_warnings, prepare, write_split_with
from ftkit.sampling import Split, split_items
from ftkit.sources import PICKLE_SUFFIXES, LoadedItems, pickled_items

__all__ = ["MIN_SIZE", "prepare_in_two"]

MIN_SIZE = 64 << 20  # a smaller pickle loads in a fraction of a second: one process will do
# The share of the file this process loads. It also encodes its lines while the child is still
# loading, so it takes a little more than half.
_SHARE = 0.55


class _UseOneProcess(Exception):
    """The child's part cannot be used: load it in this process instead."""


def prepare_in_two(
    source: str | os.PathLike[str],
    *,
    train: int,
    validation: int,
    templates: Templates,
    out_dir: str | os.PathLike[str],
    keep: Keep,
    min_size: int = MIN_SIZE,
) -> PrepareResult | None:
    """Run ``prepare(source, strategy="first", ...)`` with a second process; see the module.

    Returns None, having written nothing, when the caller should run ``prepare`` the usual way:
    when ``source`` is no pickle of at least ``min_size`` bytes that can be cut, when ``fork``
    is not safe here, or when the pickle is in any way unusual.
    """
    path = Path(source)
    if path.suffix.lower() not in PICKLE_SUFFIXES or not fork_is_safe():
        return None
    try:
        handle = path.open("rb")
    except OSError:
        return None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size < max(min_size, 1):
            return None
        try:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        try:
            first = find_cut(data, 0)
            cut = find_cut(data, int(size * _SHARE))
            if first is None or cut is None or first.at >= cut.at:
                return None
            child = Child.start(data, first, cut, str(path), templates)
            if child is None:
                return None
            try:
                job = _Job(data, first, cut, str(path), child, keep)
                return job.run(train, validation, templates, Path(out_dir))
            finally:
                child.close()
        finally:
            unmap(data, size)


class _Job:
    """This process's side of one split ``prepare``."""

    def __init__(
        self, data: mmap.mmap, first: Cut, cut: Cut, label: str, child: Child, keep: Keep
    ) -> None:
        self._data = data
        self._first = first
        self._label = label
        self._child = child
        self._keep = keep
        self._head = Head(data, cut, label)
        self._digest = hashlib.sha256()

    def run(
        self, train: int, validation: int, templates: Templates, out_dir: Path
    ) -> PrepareResult | None:
        # the source's content hash, taken on a second thread while the first part loads
        hashing = threading.Thread(target=self._digest.update, args=(self._data,), daemon=True)
        hashing.start()
        try:
            loaded_head = self._load_head()
        finally:
            hashing.join()
        if loaded_head is None:
            return None
        raw, head = loaded_head
        self._keep(self._head.unpickler)  # its memo holds every object: see keeping_until_exit
        self._keep(raw)
        loaded = len(head.items)
        # what the child encodes: the rest of a training set that does not fit in the head
        need = max(0, train - loaded) if validation == 0 else 0
        if validation and train + validation > loaded:
            return self._in_one_process(raw, train, validation, templates, out_dir)
        self._child.begin(self._head.memo_length(), need)
        try:
            split = split_items(head.items, train=min(train, loaded), validation=validation)
            return self._write(head, split, train, validation, templates, out_dir)
        except (_UseOneProcess, ChildLost, FtkitError):
            # an error (too few items, say) is raised as a whole-file load would raise it
            return self._in_one_process(raw, train, validation, templates, out_dir)

    def _load_head(self) -> tuple[list[Item], LoadedItems] | None:
        """Load and check the first part; None if anything about it is unusual."""
        try:
            items = self._head.load()
            if items is None:
                return None
            return items, pickled_items(items, self._label)
        except Exception:  # refused, corrupt, odd: a whole-file load says what is wrong
            return None

    def _write(
        self,
        head: LoadedItems,
        split: Split,
        train: int,
        validation: int,
        templates: Templates,
        out_dir: Path,
    ) -> PrepareResult:
        rest: dict[str, Any] = {}

        def child_lines() -> Iterator[FileSegment]:
            report = self._child.report()
            if report is None:
                raise _UseOneProcess("the child could not load its part")
            rest.update(report)
            if train + validation > len(head.items) + rest["kept"]:
                raise _UseOneProcess("too few items")
            # The child's lines are written from the first one that is ready, and the checks
            # run while the writer copies them: an exception here discards the staged file.
            lines = self._child.lines()
            yield from itertools.islice(lines, 1)
            self._check_child_part()
            yield from lines

        train_lines: Iterator[bytes | FileSegment] = itertools.chain(
            encode_examples(split.train, templates), child_lines()
        )
        written = write_split_with(split, out_dir, templates, train_lines=train_lines)
        dropped = dict(head.dropped)
        for reason, count in rest["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
        return PrepareResult(
            source=self._label,
            loaded=len(head.items) + rest["kept"],
            rows=head.rows + rest["rows"],
            dropped=dropped,
            train_path=written.train_path,
            validation_path=written.validation_path,
            train_count=train,
            validation_count=len(split.validation),
            skipped_duplicates=split.skipped_duplicates,
            warnings=leak_warnings(templates),
            dataset_hash=f"sha256:{self._digest.hexdigest()}",
            train_sha256=written.train_sha256,
            validation_sha256=written.validation_sha256,
        )

    def _check_child_part(self) -> None:
        """Raise ``_UseOneProcess`` unless the head's memo is what the child assumed it was."""
        if not self._head.memo_is_whole(self._child.length):
            raise _UseOneProcess("the head's memo has gaps")
        if not self._head.first_batch_matches(self._first):
            raise _UseOneProcess("the head changed what its first batch loaded")

    def _in_one_process(
        self,
        head: list[Item],
        train: int,
        validation: int,
        templates: Templates,
        out_dir: Path,
    ) -> PrepareResult | None:
        """Load the rest here after the head, then ``prepare`` as usual; None to start over."""
        self._child.stop()
        try:
            rest = self._head.load_rest()
        except Exception:
            return None
        if rest is None:
            return None
        loaded = pickled_items(head + rest, self._label, f"sha256:{self._digest.hexdigest()}")
        self._keep(loaded)
        return prepare(
            self._label,
            loaded=loaded,
            train=train,
            validation=validation,
            strategy="first",
            templates=templates,
            out_dir=out_dir,
        )
