"""The places ftkit can train, by name: ``open_trainer`` returns the ``Trainer`` for one.

"openai", "azure" and "compatible" are the same API behind different endpoints (one
``OpenAITrainer``); "local" trains a LoRA adapter on this computer and is imported only when
asked for, so nothing else loads torch.
"""

from __future__ import annotations

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
) -> Trainer:
    """Return the trainer for ``backend``; ``ProviderError`` names what is missing.

    The OpenAI backends need ``client`` (and record ``endpoint``); "local" keeps its runs
    under ``root`` (default: ``.ftkit/local-runs`` in the current folder); with ``confine``
    (hosted mode) it refuses job ids outside ``root``.
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
    raise ProviderError(f"backend {backend!r}: not one of {', '.join(BACKENDS)}")
