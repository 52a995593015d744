"""Shared test fixtures: paths to ../shared (optional) and the tiktoken cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# Tests never write run history into the checkout: each session gets its own database.
_HISTORY = tempfile.mkdtemp(prefix="ftkit-test-history-")
os.environ["FTKIT_DATABASE_URL"] = f"sqlite:///{_HISTORY}/ftkit.db"

if (SHARED / "tiktoken").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken"))


@pytest.fixture
def shared_dir() -> Path:
    """Return ../shared, or skip when a fresh clone has none."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED
