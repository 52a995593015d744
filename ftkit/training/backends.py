"""The places ftkit can train, by name: ``open_trainer`` returns the ``Trainer`` for one.

"openai", "azure" and "compatible" are the same API behind different endpoints (one
``OpenAITrainer``; Azure's ``AzureTrainer`` adds its training type, models and deployment);
"together" and "fireworks" are providers with their own key (``open_hosted``); "local" trains a
LoRA adapter on this computer. Each is imported only when asked for, so nothing else loads
torch or a provider's SDK.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import openai

from ftkit.errors import CredentialsError, ProviderError
from ftkit.providers import hosted_missing
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.trainer import HostedTrainer, Trainer

__all__ = [
    "BACKENDS",
    "HOSTED_OPENERS",
    "LOCAL_RUNS",
    "OPENAI_BACKENDS",
    "open_hosted",
    "open_trainer",
]

OPENAI_BACKENDS = ("openai", "azure", "compatible")
BACKENDS = (*OPENAI_BACKENDS, "together", "fireworks", "local")
LOCAL_RUNS = Path(".ftkit") / "local-runs"  # local runs' folder, under the current one


def open_trainer(
    backend: str,
    *,
    client: openai.OpenAI | None = None,
    endpoint: str = "",
    root: str | Path | None = None,
    confine: bool = False,
    keys: Mapping[str, str] | None = None,
) -> Trainer:
    """Return the trainer for ``backend``; ``ProviderError`` names what is missing.

    The OpenAI backends need ``client`` (and record ``endpoint``); "local" keeps its runs
    under ``root`` (default: ``.ftkit/local-runs`` in the current folder); with ``confine``
    (hosted mode) it refuses job ids outside ``root``. The hosted providers read their keys from
    ``keys`` (default: the environment; hosted mode passes its own): "together" TOGETHER_API_KEY
    (and TOGETHER_BASE_URL, another host than Together's), "fireworks" FIREWORKS_API_KEY and
    FIREWORKS_ACCOUNT_ID.
    """
    if backend in OPENAI_BACKENDS:
        if client is None:
            raise ProviderError(f"backend {backend}: no client for the endpoint")
        if backend == "azure":
            from ftkit.training.azure import AzureTrainer

            return AzureTrainer(client, endpoint)
        return OpenAITrainer(client, endpoint, backend=backend)
    if backend == "local":
        from ftkit.training.local import LocalTrainer  # only when asked: the training stack

        folder = Path(root) if root is not None else Path.cwd() / LOCAL_RUNS
        return LocalTrainer(folder, confine=confine)
    if backend in HOSTED_OPENERS:
        return open_hosted(backend, os.environ if keys is None else keys)
    raise ProviderError(f"backend {backend!r}: not one of {', '.join(BACKENDS)}")


HostedOpener = Callable[[Mapping[str, str]], HostedTrainer]


def _open_together(keys: Mapping[str, str]) -> HostedTrainer:
    """Return the Together trainer for TOGETHER_API_KEY (and TOGETHER_BASE_URL, if set)."""
    from ftkit.training.together import TogetherTrainer  # only when asked: optional SDK

    return TogetherTrainer(keys["TOGETHER_API_KEY"], base_url=keys.get("TOGETHER_BASE_URL"))


def _open_fireworks(keys: Mapping[str, str]) -> HostedTrainer:
    """Return the Fireworks trainer for the key and account id (and FIREWORKS_BASE_URL)."""
    from ftkit.training.fireworks import FireworksTrainer

    return FireworksTrainer(
        keys["FIREWORKS_API_KEY"],
        keys["FIREWORKS_ACCOUNT_ID"],
        base_url=keys.get("FIREWORKS_BASE_URL"),
    )


# The providers that train by API with their own key, by backend name.
HOSTED_OPENERS: dict[str, HostedOpener] = {
    "together": _open_together,
    "fireworks": _open_fireworks,
}


def open_hosted(backend: str, keys: Mapping[str, str]) -> HostedTrainer:
    """Return the trainer of a provider with its own key; one line when a setting is missing.

    ``keys`` holds the provider's settings (``ftkit.providers.hosted_keys``).
    """
    opener = HOSTED_OPENERS.get(backend)
    if opener is None:
        raise ProviderError(f"backend {backend!r}: not one of {', '.join(HOSTED_OPENERS)}")
    problem = hosted_missing(backend, keys)
    if problem is not None:
        raise CredentialsError(f"backend {backend}: {problem}")
    return opener(keys)
