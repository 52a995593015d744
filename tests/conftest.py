"""Shared test fixtures: paths to ../shared (optional), the tiktoken cache and its skip marker.

A test marked ``@pytest.mark.tiktoken`` compares against tiktoken's real encodings; it skips,
with the reason, when the encoding files cannot be loaded (no ``../shared/tiktoken`` and no
network), as the PostgreSQL tests skip without a server.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openai._base_client
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
ENCODINGS = ("o200k_base", "cl100k_base")

# Tests never write run history into the checkout: each session gets its own database.
_HISTORY = tempfile.mkdtemp(prefix="ftkit-test-history-")
os.environ["FTKIT_DATABASE_URL"] = f"sqlite:///{_HISTORY}/ftkit.db"

if (SHARED / "tiktoken").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken"))


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``tiktoken`` marker."""
    config.addinivalue_line(
        "markers", "tiktoken: needs tiktoken's encoding files (skips with the reason without them)"
    )


@functools.cache
def missing_encodings() -> str | None:
    """Return why tiktoken's encoding files cannot be loaded, or None when they can."""
    from ftkit.preflight.tokens import get_tokenizer

    for name in ENCODINGS:
        tokenizer = get_tokenizer(name)
        if tokenizer.approximate:
            return f"tiktoken cannot load {name}: set TIKTOKEN_CACHE_DIR (see ../shared/tiktoken)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a ``tiktoken`` test when the encoding files cannot be loaded."""
    if item.get_closest_marker("tiktoken") is not None:
        reason = missing_encodings()
        if reason is not None:
            pytest.skip(reason)


@pytest.fixture
def shared_dir() -> Path:
    """Return ../shared, or skip when a fresh clone has none."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED


@pytest.fixture(autouse=True, scope="session")
def _fast_sdk_backoff() -> Iterator[None]:
    """Scale the OpenAI SDK's retry back-off from 0.5-8 s to 1-16 ms: it retries, nobody waits."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.001)
        patch.setattr(openai._base_client, "MAX_RETRY_DELAY", 0.016)
        yield


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding a tiny Llama and its tokenizer, built once per test process.

    Skips with the reason when the training packages (requirements-train.txt) are missing.
    """
    for package in ("torch", "transformers", "tokenizers"):
        pytest.importorskip(package, reason=f"{package} is not installed (requirements-train.txt)")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from tests.tiny_llama import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
