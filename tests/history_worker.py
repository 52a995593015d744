"""One of the concurrent writers in ``test_history``: ``python -m tests.history_worker URL N GO``.

Waits until the file GO exists (so all writers start together), then records 50 runs, updating
every tenth.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ftkit.history import open_store, record_run, update_run

RECORDS = 50


def main(url: str, worker: int, go: Path) -> None:
    """Record this worker's runs once ``go`` appears."""
    store = open_store(url)
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    for n in range(RECORDS):
        run_id = record_run(
            "evaluate", {"worker": worker, "n": n}, {}, user=f"w{worker}", store=store
        )
        if n % 10 == 0:
            update_run(run_id, outputs={"checked": True}, store=store)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
