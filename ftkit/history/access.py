"""Who may see a run: every run recorded records its realm, and a scoped store sees only its own.

``local`` runs come from the CLI, the library and the dashboard in local mode; ``signed-in`` runs
from a hosted dashboard user signed in with an email; ``session`` runs from one hosted browser
session without sign-in (its owner is a random ``session-<hex>`` id). A store opened without a
scope (local mode, the CLI) sees every run. A scoped store (hosted mode) sees only the runs of
its own owner in its own realm, so ``local`` runs are never visible there; with ``team`` set, a
signed-in owner also sees every other signed-in owner's runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import sqlalchemy as sa

from ftkit.errors import HistoryError
from ftkit.history.schema import RUNS

__all__ = ["REALMS", "Realm", "Scope", "visible_clause"]

Realm = Literal["local", "signed-in", "session"]
REALMS: tuple[Realm, ...] = get_args(Realm)


@dataclass(frozen=True)
class Scope:
    """Whose runs a store handle reads and records: one hosted owner's, or (team) the team's."""

    owner: str
    realm: Realm
    team: bool = False

    def __post_init__(self) -> None:
        if self.realm == "local" or self.realm not in REALMS:
            raise HistoryError(f"realm: a scope needs a hosted realm, not {self.realm!r}")
        if not self.owner.strip():
            raise HistoryError("owner: a scope needs an owner")

    @property
    def sees_team(self) -> bool:
        """Return True when this scope sees every signed-in owner's runs (team, signed in)."""
        return self.team and self.realm == "signed-in"


def visible_clause(scope: Scope | None) -> sa.ColumnElement[bool]:
    """Return the SQL condition for the runs ``scope`` may see (all of them without a scope)."""
    if scope is None:
        return sa.true()
    own = sa.and_(RUNS.c.realm == scope.realm, RUNS.c.username == scope.owner)
    if scope.sees_team:
        return sa.or_(own, RUNS.c.realm == "signed-in")
    return own
