"""Write a command's history record from a helper process that loads the history store early.

Loading the history store means importing SQLAlchemy: about a fifth of a second, which a
command that has just written its files would otherwise spend before it can record them. Under
``python -m ftkit`` a command can start a helper process first thing (``start_recorder``). The
helper is forked before the command does any work, and does that loading on the second core while
the command loads and writes its data. At the end the command hands the record to the helper
and waits for the run's id.

Nothing is lost when there is no helper: without ``fork`` (Windows, macOS), outside
``python -m ftkit`` (tests, programs calling ``main``), or when the helper has died, the record
is written in this process, exactly as it would be in the helper.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import sys
import threading
from collections.abc import Callable
from typing import Any

from ftkit.errors import FtkitError

__all__ = ["Recorder", "fork_helper", "fork_is_safe", "receive", "send", "start_recorder"]

_LENGTH = struct.Struct("!Q")


class Recorder:
    """The parent's end of a helper process that runs one record job (see ``start_recorder``)."""

    def __init__(self, pid: int, requests: int, replies: int) -> None:
        self._pid = pid
        self._requests = requests
        self._replies = replies
        self._closed = False

    def run(self, job: Callable[..., int], *args: Any) -> int:
        """Return ``job(*args)``, run in the helper; in this process if the helper cannot.

        An ``FtkitError`` raised by the job in the helper is raised here. Any other failure
        there (the helper died, or the job hit a bug) runs the job here instead, so that a bug
        shows as it would without a helper.
        """
        status: object = None
        value: object = None
        try:
            send(self._requests, pickle.dumps((job, args)))
            reply = receive(self._replies)
            if reply is not None:
                status, value = pickle.loads(reply)
        except Exception:  # the helper is gone, or a value would not pass: run the job here
            status = None
        finally:
            self.close(wait=status is not None)
        if status == "ok" and isinstance(value, int):
            return value
        if status == "error" and isinstance(value, FtkitError):
            raise value
        return job(*args)

    def close(self, *, wait: bool = False) -> None:
        """Let the helper go (it ends once it reads that there is no job) and reap it.

        With ``wait`` (it has replied, so it is ending) wait for it; otherwise do not wait for
        a helper still loading: it ends by itself, and the system reaps it after this process.
        """
        if self._closed:
            return
        self._closed = True
        for fd in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.waitpid(self._pid, 0 if wait else os.WNOHANG)


def start_recorder(warm_up: Callable[[], object]) -> Recorder | None:
    """Fork a helper that calls ``warm_up`` now and then waits for one job; None if not here.

    Only under ``python -m ftkit`` (``ftkit.cli.run_as_process``), on a system whose ``fork``
    is safe to use without ``exec`` (not macOS), and before this process has started a thread.
    """
    if not fork_is_safe():
        return None
    forked = fork_helper(lambda requests, replies: serve(requests, replies, warm_up))
    if forked is None:
        return None
    pid, requests_write, replies_read = forked
    return Recorder(pid, requests_write, replies_read)


def fork_helper(run: Callable[[int, int], object]) -> tuple[int, int, int] | None:
    """Fork a helper process that calls ``run(requests, replies)`` with two pipes, then ends.

    Returns ``(pid, requests, replies)``: this process's ends of the pipes, to send requests on
    and read replies from; None if the system refused. The helper's standard streams point at
    the null device, and it ends without exit handlers or flushing the parent's buffers.
    """
    requests_read, requests_write = os.pipe()
    replies_read, replies_write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        for fd in (requests_read, requests_write, replies_read, replies_write):
            os.close(fd)
        return None
    if pid == 0:  # the helper: it never returns into the command
        code = 1
        try:
            os.close(requests_write)
            os.close(replies_read)
            _detach_from_terminal()
            run(requests_read, replies_write)
            code = 0
        finally:
            os._exit(code)
    os.close(requests_read)
    os.close(replies_write)
    return pid, requests_write, replies_read


def fork_is_safe() -> bool:
    """Return True under ``python -m ftkit`` on a system with a usable ``fork``, before threads.

    ``fork`` without ``exec`` is unsafe on macOS and missing on Windows, and a process that has
    started a thread could fork while that thread holds a lock the child then needs.
    """
    from ftkit.cli import ending_process

    return (
        ending_process()
        and hasattr(os, "fork")
        and sys.platform != "darwin"
        and threading.active_count() == 1
    )


def serve(requests: int, replies: int, warm_up: Callable[[], object]) -> None:
    """Run ``warm_up``, then the one job read from ``requests``; reply on ``replies``."""
    with contextlib.suppress(Exception):  # a failure here shows when the job runs
        warm_up()
    request = receive(requests)
    if request is None:  # the command ended without a record to write
        return
    reply: tuple[str, object]
    try:
        job, args = pickle.loads(request)
        reply = ("ok", job(*args))
    except FtkitError as err:
        reply = ("error", err)
    except BaseException as err:  # a bug: the parent runs the job itself, where it shows
        reply = ("failed", repr(err))
    try:
        message = pickle.dumps(reply)
    except (pickle.PicklingError, TypeError, AttributeError):
        message = pickle.dumps(("failed", "the reply could not be pickled"))
    send(replies, message)


def _detach_from_terminal() -> None:
    """Point the helper's standard streams at the null device.

    A caller that reads the command's output until it closes must not wait for the helper.
    """
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def send(fd: int, data: bytes) -> None:
    """Write one length-prefixed message."""
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def receive(fd: int) -> bytes | None:
    """Return one message, or None when the other end closed without sending one."""
    header = _read_exactly(fd, _LENGTH.size)
    if header is None:
        return None
    return _read_exactly(fd, _LENGTH.unpack(header)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts: list[bytes] = []
    while size:
        data = os.read(fd, min(size, 1 << 20))
        if not data:
            return None
        parts.append(data)
        size -= len(data)
    return b"".join(parts)
