"""The event log: interaction events clients post, stored durably and exactly once.

A write returns only after its transaction committed, so an acknowledged event survives a crash.
Every event carries a client-chosen `event_id`; a retried batch inserts nothing twice (the
unique key plus ON CONFLICT DO NOTHING), which makes client retries safe. An `event_id` sent
again with different content is a conflict: the whole batch is refused (StoreConflictError),
never counted as a duplicate. What an event means for a feed or a retrain (its value, whether
it blocks an item) and what the log can hold are decided in `data.events`.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Select, bindparam, func, select

from data import schemas as S
from data.events import (
    EVENT_COLUMNS,
    EVENT_ID,
    EVENT_SEQ,
    EVENT_TYPE,
    EVENT_WEIGHT,
    FEED_BLOCKING_LIMIT,
    FEED_HISTORY_LIMIT,
    KEPT_OUT_TYPES,
    Event,
    InvalidFieldError,
    StoredEvent,
    validate_event,
)
from data.store.connection import StoreConflictError, StoreError, insert_into
from data.store.tables import events

# What must match for a re-sent event_id to be the same event (received_at is the store's own).
_CONTENT = ("user_id", "item_id", "type", "timestamp", "weight")
_TIMESTAMP = _CONTENT.index("timestamp")
_SHOWN_IDS = 10  # conflicting ids an error message lists


@dataclass(frozen=True)
class WriteResult:
    """What a batch did: events inserted, and events already stored with the same content."""

    inserted: int
    duplicates: int


class EventLog:
    """Append-only, idempotent log of interaction events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # The feed's two reads, built once: a request binds values instead of building and
        # hashing a statement (most of a read's cost at feed rates).
        user, limit = bindparam("user_id"), bindparam("limit")
        self._newest = (
            self._select()
            .where(events.c.user_id == user)
            .order_by(events.c.seq.desc())
            .limit(limit)
        )
        self._blocking = (
            self._select()
            .where(events.c.user_id == user, events.c.type.in_(sorted(KEPT_OUT_TYPES)))
            .order_by(events.c.seq.desc())
            .limit(limit)
        )

    def add(self, batch: Sequence[Event], stamped_on_receipt: Collection[str] = ()) -> WriteResult:
        """Insert a batch in one transaction; events already stored (same event_id, same
        content) are skipped. StoreError, with nothing written, for an event the log cannot
        hold; StoreConflictError for an event_id stored with different content.

        `stamped_on_receipt` names the events whose timestamp the receiver set (the client sent
        none): a retry of one is the same event whatever its new stamp, so their timestamps are
        left out of the comparison and the first receipt's is kept.
        """
        now = time.time()
        rows = [_event_row(e, now) for e in batch]
        if not rows:
            return WriteResult(0, 0)
        ids = [r["event_id"] for r in rows]
        if len(set(ids)) != len(ids):
            raise StoreError("a batch repeats an event_id; each event needs its own id")
        # RETURNING counts what was really inserted; rowcount is unreliable for executemany
        # with ON CONFLICT on some drivers (psycopg reports 0).
        statement = (
            insert_into(self.engine, events)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(events.c.event_id)
        )
        with self.engine.begin() as connection:
            inserted = {row[0] for row in connection.execute(statement, rows)}
            skipped = [r for r in rows if r["event_id"] not in inserted]
            conflicts = _conflicting_ids(connection, skipped, frozenset(stamped_on_receipt))
            if conflicts:  # raising rolls the whole batch back
                shown = ", ".join(conflicts[:_SHOWN_IDS])
                more = (
                    f" and {len(conflicts) - _SHOWN_IDS} more"
                    if len(conflicts) > _SHOWN_IDS
                    else ""
                )
                raise StoreConflictError(
                    f"{len(conflicts)} event_id(s) already stored with different content: "
                    f"{shown}{more}; nothing of this batch was written",
                    conflicts,
                )
        return WriteResult(len(inserted), len(skipped))

    def feed_events(
        self,
        user_id: str,
        limit: int = FEED_HISTORY_LIMIT,
        blocking_limit: int = FEED_BLOCKING_LIMIT,
    ) -> list[StoredEvent]:
        """What a feed request reads of one user, bounded: their newest `limit` events, and
        their complaints and dislikes older than those (newest `blocking_limit`), oldest first.

        An old complaint still blocks its item; a user with a million events costs a request
        no more than one with `limit` (both queries are answered from an index).
        """
        with self.engine.connect() as connection:
            newest = connection.execute(self._newest, {"user_id": user_id, "limit": limit})
            found = {row.seq: StoredEvent(*row) for row in newest}
            blocking = {"user_id": user_id, "limit": blocking_limit}
            for row in connection.execute(self._blocking, blocking):
                found.setdefault(row.seq, StoredEvent(*row))
        return [found[seq] for seq in sorted(found)]

    @staticmethod
    def _select() -> Select[Any]:
        """The columns of a StoredEvent, in its field order."""
        return select(
            events.c.event_id,
            events.c.user_id,
            events.c.item_id,
            events.c.type,
            events.c.timestamp,
            events.c.weight,
            events.c.seq,
        )

    def read(self, user_id: str | None = None) -> list[StoredEvent]:
        """Stored events (of one user, or all), oldest first: all of them, for a retrain or an
        inspection (a feed reads `feed_events`)."""
        query = self._select().order_by(events.c.seq)
        if user_id is not None:
            query = query.where(events.c.user_id == user_id)
        with self.engine.connect() as connection:
            return [StoredEvent(*row) for row in connection.execute(query)]

    def frame(self, user_id: str | None = None) -> pd.DataFrame:
        """`read` as a frame of EVENT_COLUMNS (for inspection and analysis)."""
        rows = [
            (e.user_id, e.item_id, e.type, e.weight, e.timestamp, e.event_id, e.seq)
            for e in self.read(user_id)
        ]
        return pd.DataFrame(rows, columns=EVENT_COLUMNS).astype(
            {
                S.USER_ID: str,
                S.ITEM_ID: str,
                EVENT_TYPE: str,
                EVENT_WEIGHT: "float64",
                S.TIMESTAMP: "int64",
                EVENT_ID: str,
                EVENT_SEQ: "int64",
            }
        )

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(events)).scalar_one())


def _event_row(e: Event, now: float) -> dict[str, Any]:
    try:
        validate_event(e, now)
    except InvalidFieldError as error:
        raise StoreError(str(error)) from None
    return {
        "event_id": e.event_id,
        "user_id": e.user_id,
        "item_id": e.item_id,
        "type": e.type,
        "timestamp": int(e.timestamp),
        "weight": float(e.weight),
        "received_at": now,
    }


def _conflicting_ids(
    connection: Connection, skipped: Sequence[Mapping[str, Any]], stamped: frozenset[str]
) -> list[str]:
    """The skipped rows' event_ids whose stored event differs from the row sent (the timestamp
    not compared for the ids in `stamped`, which the receiver set)."""
    if not skipped:
        return []
    columns = [events.c.event_id, *(events.c[name] for name in _CONTENT)]
    query = select(*columns).where(events.c.event_id.in_([r["event_id"] for r in skipped]))
    stored = {row[0]: tuple(row[1:]) for row in connection.execute(query)}
    return [r["event_id"] for r in skipped if not _same(stored.get(r["event_id"]), r, stamped)]


def _same(stored: tuple[Any, ...] | None, row: Mapping[str, Any], stamped: frozenset[str]) -> bool:
    if stored is None:
        return False
    sent = tuple(row[name] for name in _CONTENT)
    if row["event_id"] in stamped:
        stored, sent = (
            stored[:_TIMESTAMP] + stored[_TIMESTAMP + 1 :],
            sent[:_TIMESTAMP] + sent[_TIMESTAMP + 1 :],
        )
    return stored == sent
