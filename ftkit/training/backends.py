"""The places ftkit can train, by name: ``open_trainer`` returns the ``Trainer`` for one.

"openai", "azure" and "compatible" are the same API behind different endpoints (one
``OpenAITrainer``); "local" trains a LoRA adapter on this computer and is imported only when
asked for, so nothing else loads torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import openai

from ftkit.errors import ProviderError
from ftkit.training.openai_trainer import OpenAITrainer
from ftkit.training.trainer import Trainer

__all__ = ["BACKENDS", "LOCAL_RUNS", "OPENAI_BACKENDS", "open_trainer"]

OPENAI_BACKENDS = ("openai", "azure", "compatible")
BACKENDS = (*OPENAI_BACKENDS, "local")
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
    found = os.environ if keys is None else keys
    if backend == "fireworks":
        from ftkit.training.fireworks import open_fireworks

        return open_fireworks(found)
    if backend == "together":
        from ftkit.training.together import TogetherTrainer  # only when asked: optional SDK

        key = (found.get("TOGETHER_API_KEY") or "").strip()
        return TogetherTrainer(key, base_url=found.get("TOGETHER_BASE_URL") or None)
    raise ProviderError(f"backend {backend!r}: not one of {', '.join(BACKENDS)}")
