"""The child process that loads a course pickle's second part for ``prepare`` (see ``halves``).

``Child.start`` forks it before anything is loaded. It waits for the length of the first part's
memo and the number of lines wanted, loads its part (``ftkit.pickle_halves.load_rest_seeded``),
checks its items as every load does, reports its counts, then encodes the lines asked for into an
anonymous memory file, telling the parent how far it has written a few megabytes at a time.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import mmap
import os
import pickle
import queue
import signal
import threading
from collections.abc import Iterator
from typing import Any

from ftkit.cli.recorder import fork_helper, receive, send
from ftkit.items import Item
from ftkit.jsonl import FileSegment, write_all
from ftkit.messages import Templates, encode_examples
from ftkit.pickle_frames import Cut
from ftkit.pickle_halves import load_rest_seeded
from ftkit.sources import pickled_items

__all__ = ["Child", "ChildLost"]

_BLOCK = 4 << 20  # the child hands over its lines a few megabytes at a time


class ChildLost(Exception):
    """The child stopped before its lines were written."""


class Child:
    """The parent's end of the child that loads the pickle's second part."""

    def __init__(self, pid: int, requests: int, replies: int, lines: int) -> None:
        self._pid = pid
        self._requests = requests
        self._replies = replies
        self._lines = lines  # the anonymous memory file the child writes its lines into
        self.length = 0
        self._done = False  # it has written all it was asked for, and is ending
        self._closed = False

    @classmethod
    def start(
        cls, data: mmap.mmap, first: Cut, cut: Cut, label: str, templates: Templates
    ) -> Child | None:
        """Fork the child; None where that cannot be done."""
        if not hasattr(os, "memfd_create"):
            return None
        try:
            lines = os.memfd_create("ftkit-lines", os.MFD_CLOEXEC)
        except OSError:
            return None
        forked = fork_helper(
            lambda requests, replies: _serve(
                data, first, cut, label, templates, requests, replies, lines
            )
        )
        if forked is None:
            os.close(lines)
            return None
        pid, requests_write, replies_read = forked
        return cls(pid, requests_write, replies_read, lines)

    def begin(self, length: int, need: int) -> None:
        """Tell the child the head's memo length and how many lines to encode."""
        self.length = length
        with contextlib.suppress(OSError):  # a dead child shows when its report is read
            send(self._requests, pickle.dumps((length, need)))

    def report(self) -> dict[str, Any] | None:
        """Return the child's counts once it has loaded its part; None if it could not."""
        message = self._receive()
        if message is None or message[0] != "loaded":
            return None
        return {"rows": message[1], "kept": message[2], "dropped": message[3]}

    def lines(self) -> Iterator[FileSegment]:
        """Yield the child's lines as they are written; raise ``ChildLost`` if it dies."""
        offset = 0
        while True:
            message = self._receive()
            if message is None or message[0] not in ("lines", "done"):
                raise ChildLost("the child stopped before its lines were written")
            end = message[1]
            if end > offset:
                yield FileSegment(self._lines, offset, end - offset)
                offset = end
            if message[0] == "done":
                self._done = True
                return

    def _receive(self) -> tuple[Any, ...] | None:
        try:
            message = receive(self._replies)
            return None if message is None else pickle.loads(message)
        except Exception:
            return None

    def stop(self) -> None:
        """End the child now: its work will not be used."""
        if not self._closed:
            self._done = False
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)

    def close(self) -> None:
        """End the child (unless it is ending by itself) and reap it, now or at exit.

        A child that has sent all its lines is left to end by itself, which takes it a moment:
        it is reaped at exit, so that its run is counted as this command's.
        """
        if self._closed:
            return
        if not self._done:
            self.stop()
        self._closed = True
        for fd in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        # freeing the memory file's pages takes a few tens of milliseconds
        threading.Thread(target=os.close, args=(self._lines,), daemon=True).start()
        if not self._done:
            _reap(self._pid)
        else:
            atexit.register(_reap, self._pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)


def _serve(
    data: mmap.mmap,
    first: Cut,
    cut: Cut,
    label: str,
    templates: Templates,
    requests: int,
    replies: int,
    lines: int,
) -> None:
    """The child: load the part after ``cut``, report on it, then write the lines asked for."""
    request = receive(requests)
    if request is None:  # the parent went on without this part
        return
    length, need = pickle.loads(request)
    gc.disable()  # as in any load of a large pickle
    rest = load_rest_seeded(data, first, cut, length, label)
    try:
        if rest is None:
            raise ValueError("the part could not be loaded here")
        loaded = pickled_items(rest, label)
    except Exception:
        send(replies, pickle.dumps(("failed",)))
        return
    report = ("loaded", loaded.rows, len(loaded.items), loaded.dropped)
    send(replies, pickle.dumps(report))
    _write_lines(lines, loaded.items[:need], templates, replies)


def _write_lines(lines: int, items: list[Item], templates: Templates, replies: int) -> None:
    """Encode ``items`` into the file ``lines``, telling the parent how far it is written.

    A second thread writes blocks of a few megabytes while this one encodes the next.
    """
    blocks: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=4)
    written = 0

    def write() -> None:
        nonlocal written
        while (block := blocks.get()) is not None:
            written += write_all(lines, block)
            send(replies, pickle.dumps(("lines", written)))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    block: list[bytes] = []
    size = 0
    for chunk in encode_examples(items, templates):
        block.append(chunk)
        size += len(chunk)
        if size >= _BLOCK:
            blocks.put(block)
            block, size = [], 0
    blocks.put(block)
    blocks.put(None)
    writer.join()
    send(replies, pickle.dumps(("done", written)))
