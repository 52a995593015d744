"""``python -m ftkit``."""

from __future__ import annotations

import sys

from ftkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
