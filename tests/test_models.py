"""The model table and name lookup."""

from __future__ import annotations

import pytest

from ftkit.errors import ModelError
from ftkit.training.models import MODELS, find_model


@pytest.mark.parametrize(
    ("name", "base", "encoding", "limit"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18", "o200k_base", 65_536),
        (
            "ft:gpt-4o-mini-2024-07-18:my-org::AbC123",
            "gpt-4o-mini-2024-07-18",
            "o200k_base",
            65_536,
        ),
        ("ft:gpt-3.5-turbo-0125:org:price:xyz", "gpt-3.5-turbo-0125", "cl100k_base", 16_385),
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "o200k_base", 65_536),
        ("gpt-4o", "gpt-4o-2024-08-06", "o200k_base", 65_536),
        ("gpt-4.1-mini-2099-01-01", "gpt-4.1-mini-2025-04-14", "o200k_base", 65_536),
        ("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", "o200k_base", 65_536),
        ("gpt-3.5-turbo", "gpt-3.5-turbo-0125", "cl100k_base", 16_385),
    ],
)
def test_find_model(name: str, base: str, encoding: str, limit: int) -> None:
    model = find_model(name)
    assert (model.name, model.encoding, model.token_limit) == (base, encoding, limit)


def test_shutdown_dates() -> None:
    assert find_model("gpt-4o-mini-2024-07-18").shutdown == "2027-01-14"
    assert find_model("gpt-4.1-mini").shutdown == "2027-01-14"
    assert find_model("gpt-3.5-turbo-0125").shutdown is None


@pytest.mark.parametrize("name", ["davinci-002", "gpt-4o2", "claude-3", "ft:unknown:org::id"])
def test_unknown_model_lists_the_known_ones(name: str) -> None:
    with pytest.raises(ModelError) as caught:
        find_model(name)
    message = str(caught.value)
    assert name in message and all(known in message for known in MODELS)
