"""The messages table: one row per example of a split, with tokens per example.

The dashboard builds it from columns it caches separately (user texts, assistant texts and their
token counts), so editing the system prompt re-counts one string, not every example.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import pandas as pd
from pandas.io.formats.style import Styler

from ftkit.dataset.messages import Templates, render_messages
from ftkit.dataset.sampling import Split, band_of
from ftkit.items import Item
from ftkit.preflight.rules import find_price_leak
from ftkit.preflight.tokens import REPLY_PRIMING, TOKENS_PER_MESSAGE

__all__ = [
    "COLUMNS",
    "HIT_STYLE",
    "LEAK_STYLE",
    "ROLES",
    "Role",
    "cell_styles",
    "chosen_example",
    "example_tokens",
    "filter_table",
    "highlight",
    "labelled_items",
    "leak_rows",
    "messages_table",
    "render_column",
]

Role = Literal["system", "user", "assistant"]
ROLES: tuple[Role, ...] = ("system", "user", "assistant")
COLUMNS = ("example", "split", "system", "user", "assistant", "tokens", "price", "band")
_INDEX: dict[Role, int] = {"system": 0, "user": 1, "assistant": 2}
HIT_STYLE = "background-color: rgba(249, 168, 37, 0.35)"  # a cell holding the search words
LEAK_STYLE = "background-color: rgba(198, 40, 40, 0.25)"  # a prompt holding the answer's price


def labelled_items(split: Split) -> list[tuple[str, Item]]:
    """Return the split's items in file order, each with "train" or "validation"."""
    return [("train", item) for item in split.train] + [
        ("validation", item) for item in split.validation
    ]


def render_column(items: Sequence[Item], templates: Templates, role: Role) -> list[str]:
    """Return one role's message text for every item; raise ``TemplateError`` if one fails."""
    index = _INDEX[role]
    return [render_messages(item, templates)[index]["content"] for item in items]


def example_tokens(
    system: int,
    users: Sequence[int],
    assistants: Sequence[int],
    role_tokens: Mapping[Role, int],
) -> list[int]:
    """Return tokens per example by the cookbook recipe, from content counts."""
    fixed = REPLY_PRIMING + system
    fixed += sum(TOKENS_PER_MESSAGE + role_tokens[role] for role in ROLES)
    return [fixed + user + answer for user, answer in zip(users, assistants, strict=True)]


def messages_table(
    split: Split,
    system: str,
    users: Sequence[str],
    assistants: Sequence[str],
    tokens: Sequence[int],
) -> pd.DataFrame:
    """Return the table: example number (1-based, per file), split, messages, tokens, price."""
    labelled = labelled_items(split)
    numbers = list(range(1, len(split.train) + 1)) + list(range(1, len(split.validation) + 1))
    return pd.DataFrame(
        {
            "example": numbers,
            "split": [name for name, _ in labelled],
            "system": [system] * len(labelled),
            "user": list(users),
            "assistant": list(assistants),
            "tokens": list(tokens),
            "price": [item.price for _, item in labelled],
            "band": [band_of(item.price) for _, item in labelled],
        },
        columns=list(COLUMNS),
    )


def filter_table(
    table: pd.DataFrame,
    *,
    query: str = "",
    splits: Sequence[str] = (),
    bands: Sequence[str] = (),
) -> pd.DataFrame:
    """Return the rows whose messages contain ``query`` (any case), in ``splits`` and ``bands``.

    An empty ``splits`` or ``bands`` means all of them.
    """
    mask = pd.Series(True, index=table.index)
    if splits:
        mask &= table["split"].isin(list(splits))
    if bands:
        mask &= table["band"].isin(list(bands))
    needle = query.strip()
    if needle:
        found = pd.Series(False, index=table.index)
        for column in ROLES:
            found |= table[column].str.contains(needle, case=False, regex=False)
        mask &= found
    return table[mask]


def leak_rows(table: pd.DataFrame) -> pd.Series:
    """Return True for each row whose system or user message holds the assistant's price."""
    leaks = [
        find_price_leak(answer, [system, user]) is not None
        for system, user, answer in zip(
            table["system"], table["user"], table["assistant"], strict=True
        )
    ]
    return pd.Series(leaks, index=table.index, dtype=bool)


def cell_styles(table: pd.DataFrame, query: str) -> pd.DataFrame:
    """Return CSS per cell: search hits in amber, leaking user messages in red."""
    styles = pd.DataFrame("", index=table.index, columns=table.columns)
    needle = query.strip()
    if needle:
        for column in ROLES:
            hits = table[column].str.contains(needle, case=False, regex=False)
            styles.loc[hits, column] = HIT_STYLE
    styles.loc[leak_rows(table), "user"] = LEAK_STYLE
    return styles


def highlight(table: pd.DataFrame, query: str = "") -> Styler:
    """Return the table styled for display: cells with ``query`` and price leaks highlighted."""
    return table.style.apply(lambda frame: cell_styles(frame, query), axis=None).format(
        {"price": "${:,.2f}"}
    )


def chosen_example(shown: Sequence[int], selected_rows: Sequence[int], current: int | None) -> int:
    """Return the table index to show in full.

    ``shown`` are the listed rows' table indexes in order; a row picked in the list
    (``selected_rows``, positions in ``shown``) wins, then ``current`` if still listed, then the
    first listed row. ``shown`` must not be empty.
    """
    if selected_rows and 0 <= selected_rows[0] < len(shown):
        return shown[selected_rows[0]]
    if current is not None and current in shown:
        return current
    return shown[0]
