"""The event log: interaction events clients post, stored durably and exactly once.

A write returns only after its transaction committed, so an acknowledged event survives a crash.
Every event carries a client-chosen `event_id`; a retried batch inserts nothing twice (the
unique key plus ON CONFLICT DO NOTHING), which makes client retries safe. What an event means
for a feed or a retrain (its value, whether it blocks an item) is decided in `data.events`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from data import schemas as S
from data.events import (
    EVENT_COLUMNS,
    EVENT_ID,
    EVENT_SEQ,
    EVENT_TYPE,
    EVENT_TYPES,
    EVENT_WEIGHT,
    Event,
    StoredEvent,
)
from data.store.connection import StoreError, insert_into
from data.store.tables import events


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    duplicates: int


class EventLog:
    """Append-only, idempotent log of interaction events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, batch: Sequence[Event]) -> WriteResult:
        """Insert a batch in one transaction; events whose event_id exists are skipped."""
        rows = [_event_row(e) for e in batch]
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
            inserted = len(connection.execute(statement, rows).all())
        return WriteResult(inserted, len(rows) - inserted)

    def read(self, user_id: str | None = None) -> list[StoredEvent]:
        """Stored events (of one user, or all), oldest first."""
        query = select(
            events.c.event_id,
            events.c.user_id,
            events.c.item_id,
            events.c.type,
            events.c.timestamp,
            events.c.weight,
            events.c.seq,
        ).order_by(events.c.seq)
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


def _event_row(e: Event) -> dict[str, Any]:
    for name in ("event_id", "user_id", "item_id"):
        value = getattr(e, name)
        if not isinstance(value, str) or not value.strip():
            raise StoreError(f"{name} must be a non-empty string, got {value!r}")
    if e.type not in EVENT_TYPES:
        raise StoreError(f"unknown event type '{e.type}' (known: {', '.join(EVENT_TYPES)})")
    if e.timestamp < 0:
        raise StoreError(f"timestamp must be epoch seconds >= 0, got {e.timestamp}")
    return {
        "event_id": e.event_id,
        "user_id": e.user_id,
        "item_id": e.item_id,
        "type": e.type,
        "timestamp": int(e.timestamp),
        "weight": float(e.weight),
        "received_at": time.time(),
    }
