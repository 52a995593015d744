"""Epochs, billed tokens and the dollar estimate, from one editable price table.

The table is ``ftkit/data/prices.json``; set ``FTKIT_PRICES`` to the path of your own copy
(same shape) to override it. Every estimate carries the table's ``as_of`` date.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import orjson

from ftkit.errors import PriceTableError

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_PRICES",
    "MAX_EPOCHS",
    "PRICES_ENV",
    "ModelPrices",
    "PriceTable",
    "billed_tokens",
    "default_epochs",
    "estimate_inference_cost",
    "estimate_training_cost",
    "has_base_rates",
    "load_prices",
    "parse_prices",
]

PRICES_ENV = "FTKIT_PRICES"
DEFAULT_PRICES = Path(__file__).resolve().parent.parent / "data" / "prices.json"

# The epochs ftkit prices and launches unless told otherwise: the lecture's one epoch. Check's
# estimate, the job form, ``finetune --epochs`` and ``validate --epochs`` all start from it.
DEFAULT_EPOCHS = 1
MAX_EPOCHS = 50
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


class ModelPrices(TypedDict):
    """US dollars per million tokens for one model.

    ``input_per_1m`` and ``output_per_1m`` are the fine-tuned model's inference rates; the
    ``base_`` ones, which a table may leave out, are the base model's own.
    """

    training_per_1m: float
    input_per_1m: float
    output_per_1m: float
    base_input_per_1m: NotRequired[float]
    base_output_per_1m: NotRequired[float]


@dataclass(frozen=True)
class PriceTable:
    """The price table: when it was last checked, its currency and prices per model."""

    as_of: str
    currency: str
    models: Mapping[str, ModelPrices]
    source: str


def default_epochs(examples: int) -> int:
    """Return the epochs OpenAI applies when none are given.

    3, raised to the fewest epochs that bring examples × epochs to at least 100, or lowered to
    the most that keep it at or below 25,000; always kept within 1..25.
    """
    if examples <= 0:
        return TARGET_EPOCHS
    epochs = TARGET_EPOCHS
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        epochs = math.ceil(MIN_TARGET_EXAMPLES / examples)
    elif examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        epochs = MAX_TARGET_EXAMPLES // examples
    return max(MIN_DEFAULT_EPOCHS, min(MAX_DEFAULT_EPOCHS, epochs))


def billed_tokens(tokens_per_example: Iterable[int], *, epochs: int, limit: int) -> int:
    """Return epochs × Σ min(limit, tokens) over the examples."""
    return epochs * sum(min(limit, tokens) for tokens in tokens_per_example)


def estimate_training_cost(billed: int, prices: ModelPrices) -> float:
    """Return the training cost in the table's currency for ``billed`` tokens."""
    return billed * prices["training_per_1m"] / 1_000_000


def estimate_inference_cost(
    input_tokens: int, output_tokens: int, prices: ModelPrices, *, base: bool = False
) -> float:
    """Return the cost of calls with these token counts to the fine-tuned model.

    With ``base``, to the base model, at its own rates when the table has them (else at the
    fine-tuned rates, which are higher: see ``has_base_rates``).
    """
    if base and has_base_rates(prices):
        rates = (prices["base_input_per_1m"], prices["base_output_per_1m"])
    else:
        rates = (prices["input_per_1m"], prices["output_per_1m"])
    return (input_tokens * rates[0] + output_tokens * rates[1]) / 1e6


def has_base_rates(prices: ModelPrices) -> bool:
    """Return True if the table gives the base model's own inference rates."""
    return "base_input_per_1m" in prices and "base_output_per_1m" in prices


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PriceTableError(f"{where} must be a non-negative number")
    return float(value)


def parse_prices(raw: Any, *, source: str) -> PriceTable:
    """Return the price table in ``raw``; raise ``PriceTableError`` naming ``source`` if bad."""
    if not isinstance(raw, dict):
        raise PriceTableError(f"{source}: a price table must be a JSON object")
    as_of, currency, models = raw.get("as_of"), raw.get("currency", "USD"), raw.get("models")
    if not isinstance(as_of, str) or not as_of:
        raise PriceTableError(f'{source}: "as_of" must be a date such as "2026-11-26"')
    if not isinstance(currency, str) or not isinstance(models, dict):
        raise PriceTableError(f'{source}: needs "currency" (text) and "models" (an object)')
    table: dict[str, ModelPrices] = {}
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise PriceTableError(f"{source}: models.{name} must be an object")
        fields = ("training_per_1m", "input_per_1m", "output_per_1m")
        values = [_number(entry.get(key), f"{source}: models.{name}.{key}") for key in fields]
        prices = ModelPrices(
            training_per_1m=values[0], input_per_1m=values[1], output_per_1m=values[2]
        )
        base = ("base_input_per_1m", "base_output_per_1m")
        present = [key for key in base if key in entry]
        if len(present) == 1:
            raise PriceTableError(f"{source}: models.{name} needs both {base[0]} and {base[1]}")
        if present:
            prices["base_input_per_1m"], prices["base_output_per_1m"] = (
                _number(entry[key], f"{source}: models.{name}.{key}") for key in base
            )
        table[name] = prices
    return PriceTable(as_of=as_of, currency=currency, models=table, source=source)


def load_prices(path: str | os.PathLike[str] | None = None) -> PriceTable:
    """Read the price table: ``path``, else ``$FTKIT_PRICES``, else ftkit's own."""
    chosen = Path(path or os.environ.get(PRICES_ENV) or DEFAULT_PRICES)
    try:
        raw = orjson.loads(chosen.read_bytes())
    except OSError as err:
        raise PriceTableError(
            f"{chosen}: cannot read price table ({err.strerror or err})"
        ) from None
    except orjson.JSONDecodeError as err:
        raise PriceTableError(f"{chosen}: price table is not valid JSON ({err})") from None
    return parse_prices(raw, source=str(chosen))
