"""A ``prepare`` that stalls mid-write: ``python -m tests.prepare_worker OUT``.

Runs the real command line (``prepare --out OUT``) with one fault injected: the training file's
encoder writes a few megabytes, prints ``writing`` and then sleeps, so the test can kill it,
send it SIGTERM or race another run against it while its staging file is half-written.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence

import ftkit.dataset.prepare
from ftkit.cli import main
from ftkit.dataset.messages import Templates, encode_examples
from ftkit.items import Item

STALL_AFTER_BYTES = 3 << 20


def stalling_encoder(items: Sequence[Item], templates: Templates | None = None) -> Iterator[bytes]:
    """Yield the real lines over and over until a few megabytes are out, then stall."""
    written = 0
    while written < STALL_AFTER_BYTES:
        for chunk in encode_examples(items, templates):
            written += len(chunk)
            yield chunk
    print("writing", flush=True)
    time.sleep(60)


if __name__ == "__main__":
    ftkit.dataset.prepare.encode_examples = stalling_encoder  # type: ignore[assignment]
    sys.exit(main(["prepare", "--out", sys.argv[1], "--train", "40", "--no-history"]))
