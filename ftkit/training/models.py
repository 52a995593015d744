"""The fine-tunable models ftkit knows: encoding, training token limit and shutdown date.

One table, ``MODELS``. ``find_model`` accepts a full snapshot name, a fine-tuned name
(``ft:gpt-4o-mini-2024-07-18:org::id``, or Azure's ``gpt-4o-mini-2024-07-18.ft-id``, maps to
its base) or a bare alias (``gpt-4o-mini``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ftkit.errors import ModelError

__all__ = ["DEFAULT_MODEL", "MODELS", "EncodingName", "Model", "find_model", "is_fine_tuned"]

EncodingName = Literal["o200k_base", "cl100k_base"]

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"

# OpenAI is winding down self-serve fine-tuning: fine-tuned gpt-4o, gpt-4o-mini, gpt-4.1 and
# gpt-4.1-mini models stop serving on this date.
_WIND_DOWN = "2027-01-14"


@dataclass(frozen=True)
class Model:
    """One base model: its tokenizer, the longest training example, and when it stops serving."""

    name: str
    encoding: EncodingName
    token_limit: int
    shutdown: str | None
    fine_tunable: bool = True


MODELS: dict[str, Model] = {
    model.name: model
    for model in (
        Model("gpt-4o-mini-2024-07-18", "o200k_base", 65_536, _WIND_DOWN),
        Model("gpt-4o-2024-08-06", "o200k_base", 65_536, _WIND_DOWN),
        Model("gpt-4.1-2025-04-14", "o200k_base", 65_536, _WIND_DOWN),
        Model("gpt-4.1-mini-2025-04-14", "o200k_base", 65_536, _WIND_DOWN),
        Model("gpt-4.1-nano-2025-04-14", "o200k_base", 65_536, None),
        Model("gpt-3.5-turbo-0125", "cl100k_base", 16_385, None),
    )
}

# Bare names, longest first so that "gpt-4o-mini" wins over "gpt-4o".
_ALIASES: tuple[tuple[str, str], ...] = (
    ("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14"),
    ("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"),
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("gpt-3.5-turbo", "gpt-3.5-turbo-0125"),
    ("gpt-4.1", "gpt-4.1-2025-04-14"),
    ("gpt-4o", "gpt-4o-2024-08-06"),
)


def is_fine_tuned(name: str) -> bool:
    """Return True for a fine-tuned name: OpenAI's ``ft:...`` or Azure's ``BASE.ft-JOBID``."""
    return name.startswith("ft:") or ".ft-" in name


def base_name(name: str) -> str:
    """Return the base model of a fine-tuned name (``ft:BASE:org:suffix:id``), else ``name``.

    Azure OpenAI names a fine-tuned model ``BASE.ft-JOBID``; its base is the part before.
    """
    if name.startswith("ft:"):
        return name.split(":", 2)[1]
    if ".ft-" in name:
        return name.split(".ft-", 1)[0]
    return name


def find_model(name: str) -> Model:
    """Return the table entry for ``name``; raise ``ModelError`` listing known models if none.

    Precedence: exact snapshot name, then the base of an ``ft:`` name, then the longest alias
    that is a prefix of the name (``gpt-4o-mini-2024-99-99`` falls back to gpt-4o-mini).
    """
    base = base_name(name.strip())
    if base in MODELS:
        return MODELS[base]
    for alias, target in _ALIASES:
        if base == alias or base.startswith(alias + "-"):
            return MODELS[target]
    known = ", ".join(MODELS)
    raise ModelError(f"unknown model {name!r}; known models: {known}")
