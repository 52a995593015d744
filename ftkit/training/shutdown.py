"""Fine-tunable models and when they stop serving.

``GET /v1/models`` reports ``shutdown_date`` where one is announced (Azure's ``/openai/models``:
``deprecation.inference``); ftkit's own table in ``ftkit.training.models`` is the fallback (and
the only source without a key). Fine-tuned models found on the endpoint (``ft:...``, Azure's
``BASE.ft-JOBID``) are listed too; they stop serving with their base.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, TypedDict

import openai

from ftkit.api import calling, optional, require
from ftkit.errors import ModelError
from ftkit.training.models import MODELS, base_name, find_model, is_fine_tuned

__all__ = ["ModelRow", "list_models", "table_models"]

DateSource = Literal["api", "table", "none"]


class ModelRow(TypedDict):
    """One model: its name, base, shutdown date and where that date came from."""

    name: str
    base: str
    fine_tuned: bool
    available: bool | None
    shutdown_date: str | None
    source: DateSource


def table_models() -> list[ModelRow]:
    """Return ftkit's built-in fine-tunable models (availability unknown)."""
    return [
        ModelRow(
            name=m.name,
            base=m.name,
            fine_tuned=False,
            available=None,
            shutdown_date=m.shutdown,
            source="table" if m.shutdown else "none",
        )
        for m in MODELS.values()
        if m.fine_tunable
    ]


def _table_shutdown(name: str) -> str | None:
    try:
        return find_model(name).shutdown
    except ModelError:
        return None


def _azure_retirement(model: object) -> str | None:
    """Return the date Azure retires a model for inference (``deprecation.inference``), or None."""
    deprecation = getattr(model, "deprecation", None)
    when = deprecation.get("inference") if isinstance(deprecation, dict) else None
    if isinstance(when, int) and not isinstance(when, bool):
        return datetime.fromtimestamp(when, UTC).date().isoformat()
    return None


def _listed(client: openai.OpenAI) -> dict[str, str | None]:
    """Return model id → announced shutdown date from ``GET /v1/models`` (Azure's too)."""
    listed: dict[str, str | None] = {}
    with calling("listing models"):
        for model in client.models.list():
            name = require(model.id, str, "id")
            date = getattr(model, "shutdown_date", None)
            shown = optional(date, str, f"{name}: shutdown_date") or _azure_retirement(model)
            listed[name] = shown or None
    return listed


def list_models(client: openai.OpenAI) -> list[ModelRow]:
    """Return the built-in models marked available or not, then the endpoint's ``ft:`` models."""
    listed = _listed(client)
    rows = []
    for row in table_models():
        found = row["name"] in listed
        row["available"] = found
        if listed.get(row["name"]):
            row["shutdown_date"], row["source"] = listed[row["name"]], "api"
        rows.append(row)
    for name, api_date in sorted(listed.items()):
        if not is_fine_tuned(name):
            continue
        date = api_date or _table_shutdown(name)
        source: DateSource = "api" if api_date else ("table" if date else "none")
        rows.append(
            ModelRow(
                name=name,
                base=base_name(name),
                fine_tuned=True,
                available=True,
                shutdown_date=date,
                source=source,
            )
        )
    return rows
