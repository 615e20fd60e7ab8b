"""Item retirements: items taken out of the served catalog, and put back, without retraining.

A platform removes content all the time (a moderation takedown, a deleted post, a product out of
stock): a retired item is left out of every feed and similar-items list until it is restored.
The table is a log of changes, one row each, never updated; an item's state is its row with the
highest `seq`. Writing a change an item already has (retiring a retired item) adds no row.

Readers: each service worker follows the log with a `SeqFollower` (`follower`, `changed_at`),
which also finds a change whose number became visible after a higher one (concurrent writers
on PostgreSQL; see `data.store.follow`); `changed_at` answers each touched item's latest state,
so a late row never undoes a newer one. Offline jobs read the whole set once (`retired_ids`).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, Engine, func, select

from data.events import ENTITY_ID_LENGTH, InvalidFieldError, check_identifier, check_stored_text
from data.store.connection import StoreError
from data.store.follow import MAX_BATCH, SeqFollower
from data.store.item_logs import latest_rows
from data.store.tables import AGENT_LENGTH, RETIREMENT_REASON_LENGTH, item_retirements

MAX_ITEMS_PER_CHANGE: Final = 1000  # ids per retire or restore call: one bounded transaction
MAX_LISTED: Final = 1000  # rows per page of `listing`

_T = item_retirements.c
_OUTER = item_retirements.alias("outer").c  # the row a correlated "latest of its item" reads


class InvalidRetirementError(StoreError):
    """A change the log refuses: too many or malformed ids, an oversized reason."""


@dataclass(frozen=True)
class RetirementChange:
    """What one retire or restore call did: the items whose state it changed, and those that
    were already in the state asked for (each id once, in the order given)."""

    changed: tuple[str, ...]
    unchanged: tuple[str, ...]


@dataclass(frozen=True)
class RetiredItem:
    """One retired item: why (if said), by whose key, when (epoch seconds)."""

    item_id: str
    reason: str | None
    changed_by: str
    retired_at: float
    seq: int


def check_item_ids(item_ids: Sequence[str]) -> list[str]:
    """`item_ids` once each, in order; InvalidRetirementError for an empty or oversized list
    or an id the store cannot hold."""
    if isinstance(item_ids, str):
        raise InvalidRetirementError("item_ids must be a list of ids, not one string")
    if not item_ids:
        raise InvalidRetirementError("item_ids is empty: name at least one item")
    if len(item_ids) > MAX_ITEMS_PER_CHANGE:
        raise InvalidRetirementError(
            f"item_ids holds {len(item_ids):,} ids; at most {MAX_ITEMS_PER_CHANGE:,} per call"
        )
    for item_id in item_ids:
        try:
            check_identifier("item_id", item_id, ENTITY_ID_LENGTH)
        except InvalidFieldError as error:
            raise InvalidRetirementError(str(error)) from None
    return list(dict.fromkeys(item_ids))


def check_reason(reason: str | None) -> str | None:
    """`reason` if the log can hold it (a short note: a moderation code, "out of stock")."""
    if reason is None:
        return None
    try:
        return check_stored_text("reason", reason, RETIREMENT_REASON_LENGTH)
    except InvalidFieldError as error:
        raise InvalidRetirementError(str(error)) from None


class ItemRetirements:
    """The log of retirements and restorations (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def retire(
        self, item_ids: Sequence[str], changed_by: str, reason: str | None = None
    ) -> RetirementChange:
        """Take `item_ids` out of the served catalog (at most MAX_ITEMS_PER_CHANGE)."""
        return self._change(item_ids, True, changed_by, check_reason(reason))

    def restore(self, item_ids: Sequence[str], changed_by: str) -> RetirementChange:
        """Put retired `item_ids` back (an item never retired is left as it is)."""
        return self._change(item_ids, False, changed_by, None)

    def _change(
        self, item_ids: Sequence[str], retired: bool, changed_by: str, reason: str | None
    ) -> RetirementChange:
        ids = check_item_ids(item_ids)
        try:
            check_identifier("changed_by", changed_by, AGENT_LENGTH)
        except InvalidFieldError as error:
            raise InvalidRetirementError(str(error)) from None
        now = time.time()
        # The read and the insert share one transaction: a retry of the same call adds nothing.
        with self.engine.begin() as connection:
            current = _latest_states(connection, ids)
            changed = [item for item in ids if current.get(item, False) != retired]
            if changed:
                rows = [
                    {
                        "item_id": item,
                        "retired": retired,
                        "reason": reason,
                        "changed_by": changed_by,
                        "created_at": now,
                    }
                    for item in changed
                ]
                connection.execute(item_retirements.insert(), rows)
        kept = set(changed)
        return RetirementChange(tuple(changed), tuple(i for i in ids if i not in kept))

    def states(self, item_ids: Collection[str]) -> dict[str, bool]:
        """True for each of `item_ids` that is retired now, False otherwise."""
        ids = list(dict.fromkeys(item_ids))
        with self.engine.connect() as connection:
            current = _latest_states(connection, ids)
        return {item: current.get(item, False) for item in ids}

    def follower(self) -> SeqFollower:
        """A reader's position in the log (see `data.store.follow`): read what its numbers
        changed with `changed_at`."""
        return SeqFollower(self.engine, _T.seq)

    def changed_at(self, seqs: Collection[int]) -> dict[str, bool]:
        """For each item that changes `seqs` touched: whether it is retired now (its latest row
        by number, whatever order the rows were read in). At most MAX_BATCH numbers."""
        if len(seqs) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} changes per read, got {len(seqs)}")
        if not seqs:
            return {}
        with self.engine.connect() as connection:
            touched = connection.execute(
                select(_T.item_id).where(_T.seq.in_(list(seqs))).distinct()
            ).scalars()
            return _latest_states(connection, list(touched))

    def retired_ids(self) -> frozenset[str]:
        """Every item retired now (offline jobs: batch recommendations)."""
        latest = select(func.max(_T.seq)).where(_T.item_id == _OUTER.item_id).scalar_subquery()
        query = select(_OUTER.item_id).where(_OUTER.retired.is_(True), _OUTER.seq == latest)
        with self.engine.connect() as connection:
            return frozenset(connection.execute(query).scalars())

    def listing(self, after: int = 0, limit: int = MAX_LISTED) -> list[RetiredItem]:
        """Items retired now, in the order they were retired (by `seq`), those retired after
        position `after`, at most `limit` (capped at MAX_LISTED): page on with the last seq."""
        limit = max(0, min(int(limit), MAX_LISTED))
        latest = select(func.max(_T.seq)).where(_T.item_id == _OUTER.item_id).scalar_subquery()
        query = (
            select(_OUTER.seq, _OUTER.item_id, _OUTER.reason, _OUTER.changed_by, _OUTER.created_at)
            .where(_OUTER.retired.is_(True), _OUTER.seq == latest, _OUTER.seq > after)
            .order_by(_OUTER.seq)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            RetiredItem(row.item_id, row.reason, row.changed_by, float(row.created_at), row.seq)
            for row in rows
        ]


def _latest_states(connection: Connection, ids: Sequence[str]) -> dict[str, bool]:
    """item -> its latest row's `retired`, for the `ids` the log holds."""
    rows = latest_rows(connection, item_retirements, ids, MAX_ITEMS_PER_CHANGE)
    return {row.item_id: bool(row.retired) for row in rows}
