"""``python -m ftkit``."""

from __future__ import annotations

from ftkit.cli import run_as_process

if __name__ == "__main__":
    run_as_process()
