"""Without tiktoken's files, every page that shows token counts labels them approximate."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
import tiktoken.registry
from apptest_support import assert_clean, goto, metrics, open_app

from ftkit.ui import state


@pytest.fixture
def no_encodings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty tiktoken cache, no network, and no tokenizer left in the dashboard's cache."""
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    forget_counts()
    yield
    forget_counts()


def forget_counts() -> None:
    """Drop the dashboard's shared tokenizer and everything counted with it."""
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.usefixtures("no_encodings")
def test_counts_are_labelled_approximate_on_compose_messages_and_check() -> None:
    at = open_app("compose")
    assert_clean(at)
    assert "Train tokens (approximate)" in metrics(at)
    goto(at, "messages")
    assert_clean(at)
    assert any("(approximate)" in c.value for c in at.caption)
    goto(at, "check")
    assert not at.exception
    shown = metrics(at)
    assert "Training tokens (approximate)" in shown and "Estimated cost (approximate)" in shown
    assert any("TIKTOKEN_CACHE_DIR" in i.value for i in at.info)


@pytest.mark.tiktoken
def test_with_the_encodings_the_counts_are_exact() -> None:
    forget_counts()
    at = open_app("compose")
    assert_clean(at)
    assert "Train tokens" in metrics(at) and "Train tokens (approximate)" not in metrics(at)
