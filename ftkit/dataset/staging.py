"""Staging beside a target: a lock on the output folder, staging names, and their cleanup.

A run that writes several files into one folder (``write_files_together``) holds an exclusive
``flock`` on the folder itself, so two runs never mix their files and no lock file is left
behind. Staging files are named ``.<target>.<pid>.staged``; a run killed mid-write leaves one
behind, and the next run that holds the lock removes every staging file of its targets.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from ftkit.errors import OutputError

__all__ = ["folder_lock", "held_signals", "remove_stale_staging", "staging_path"]

# Errors that mean the file system cannot lock at all (some network mounts): write unlocked.
_NO_LOCKING = {errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}
_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def staging_path(target: Path) -> Path:
    """Return this process's staging name beside ``target``."""
    return target.with_name(f".{target.name}.{os.getpid()}.staged")


def _staging_pattern(target_name: str) -> re.Pattern[str]:
    # ".<name>.<pid>.staged", the older ".<name>.staged", and atomic_writer's temp file of
    # either one (".<staging name>.<random>.tmp").
    return re.compile(rf"\.?\.{re.escape(target_name)}\.(?:\d+\.)?staged(?:\.[^/]+\.tmp)?")


def remove_stale_staging(folder: Path, target_names: Iterable[str]) -> None:
    """Remove the staging files of ``target_names`` in ``folder`` (never a link or a folder).

    Call only while holding ``folder_lock(folder)``: then no other run is writing them.
    """
    patterns = [_staging_pattern(name) for name in target_names]
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if any(p.fullmatch(entry.name) for p in patterns) and entry.is_file(
                follow_symlinks=False
            ):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Create ``folder`` if need be and hold an exclusive lock on it for the block; never wait.

    Raises ``OutputError`` (one line naming the folder) when another run holds the lock.
    Where the platform or file system has no ``flock`` the block runs unlocked.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = -1 if sys.platform == "win32" else os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as err:
        raise OutputError(f"{folder}: cannot write there ({err.strerror or err})") from None
    if sys.platform == "win32":  # pragma: no cover - no flock on Windows
        yield
        return
    import fcntl

    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"{folder}: another run is writing files here; nothing was written, "
                "try again when it finishes"
            ) from None
        except OSError as err:
            if err.errno not in _NO_LOCKING:
                raise OutputError(f"{folder}: cannot lock ({err.strerror})") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold back Ctrl-C and SIGTERM for the block, so a short step is not cut in half."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
