"""Retention: deleting customers' messages and interaction events older than a period.

PIPL (art. 19) and GDPR (art. 5(1)(e)) keep personal data no longer than its purpose needs: an
operator sets a period and runs `prune` on a schedule. Triage records go by their message time,
coalesce(occurred_at, created_at) (the expression the complaint analytics index), with their
corrections and resolutions, and those that had a resolution are listed for the workers'
knowledge bases as an erasure's are (`data.store.erasure.erase_records`). Events go by their
`timestamp`.

Deletes run in batches of `batch` rows (PRUNE_BATCH), each its own transaction, so a run over a
year of history never holds the write lock for long (SQLite has one writer: a single transaction
would stall every `/events` and `/triage` write for the whole run). A run is audited with one
`erasures` row (kind "retention", its cut-offs in `parameters`), written also when the run stops
part-way (`completed`: false), since the batches before the failure are gone for good. A dry run
counts what would go and writes nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Engine, delete, func, select

from data.store.complaint_counts import message_time
from data.store.erasure import RETENTION_RUN, audit, check_requester, erase_records
from data.store.tables import corrections, events, resolutions, triage_records

logger = logging.getLogger(__name__)

PRUNE_BATCH: Final = 5000  # rows per transaction
DAY_S: Final = 86_400.0


@dataclass(frozen=True)
class RetentionCutoffs:
    """Delete messages written before `messages_before` and events whose timestamp is before
    `events_before` (epoch seconds; None: that kind is kept)."""

    messages_before: float | None = None
    events_before: float | None = None

    @classmethod
    def older_than(
        cls, message_days: float | None, event_days: float | None, now: float | None = None
    ) -> RetentionCutoffs:
        """Cut-offs `message_days` and `event_days` before `now`; ValueError unless each given
        period is a positive number of days and at least one is given."""
        if message_days is None and event_days is None:
            raise ValueError("give a retention period for messages, events or both")
        for name, days in (("messages", message_days), ("events", event_days)):
            if days is not None and not days > 0:
                raise ValueError(f"the retention period of {name} must be over 0 days")
        at = time.time() if now is None else now
        return cls(
            at - message_days * DAY_S if message_days is not None else None,
            at - event_days * DAY_S if event_days is not None else None,
        )

    def parameters(self) -> dict[str, Any]:
        return {"messages_before": self.messages_before, "events_before": self.events_before}


def count_prunable(engine: Engine, cutoffs: RetentionCutoffs) -> dict[str, int]:
    """What `prune` would delete now, per table (a dry run)."""
    counts = {"triage_records": 0, "corrections": 0, "resolutions": 0, "events": 0}
    with engine.connect() as connection:
        if cutoffs.messages_before is not None:
            old = select(triage_records.c.triage_id).where(message_time() < cutoffs.messages_before)
            counts["triage_records"] = _count(connection, triage_records, old, None)
            for name, table in (("corrections", corrections), ("resolutions", resolutions)):
                counts[name] = _count(connection, table, old, table.c.triage_id)
        if cutoffs.events_before is not None:
            counts["events"] = int(
                connection.execute(
                    select(func.count())
                    .select_from(events)
                    .where(events.c.timestamp < cutoffs.events_before)
                ).scalar_one()
            )
    return counts


def _count(connection: Any, table: Any, old: Any, column: ColumnElement[str] | None) -> int:
    """Rows of `table` among the `old` records (the records themselves when `column` is None)."""
    if column is None:
        query = select(func.count()).select_from(old.subquery())
    else:
        query = select(func.count()).select_from(table).where(column.in_(old))
    return int(connection.execute(query).scalar_one())


def prune(
    engine: Engine,
    cutoffs: RetentionCutoffs,
    requested_by: str,
    batch: int = PRUNE_BATCH,
) -> dict[str, int]:
    """Delete the messages and events older than `cutoffs`, `batch` rows per transaction, and
    audit the run; returns rows deleted per table."""
    check_requester(requested_by)
    if batch < 1:
        raise ValueError("batch must be >= 1")
    counts = {"triage_records": 0, "corrections": 0, "resolutions": 0, "events": 0}
    completed = False
    try:
        if cutoffs.messages_before is not None:
            _prune_messages(engine, cutoffs.messages_before, batch, counts)
        if cutoffs.events_before is not None:
            _prune_events(engine, cutoffs.events_before, batch, counts)
        completed = True
    finally:
        if completed or any(counts.values()):
            parameters = {**cutoffs.parameters(), "completed": completed}
            with engine.begin() as connection:
                now = time.time()
                audit(connection, RETENTION_RUN, requested_by, counts, now, None, parameters)
    logger.info("retention run for %s: %s", requested_by, counts)
    return counts


def _prune_messages(engine: Engine, before: float, batch: int, counts: dict[str, int]) -> None:
    """Delete triage records written before `before`, oldest first, `batch` per transaction."""
    while True:
        oldest = (
            select(triage_records.c.triage_id)
            .where(message_time() < before)
            .order_by(message_time())
            .limit(batch)
        )
        with engine.begin() as connection:
            # FOR UPDATE (PostgreSQL): a correction or resolution of these records waits.
            ids = list(connection.execute(oldest.with_for_update()).scalars())
            if not ids:
                return
            for name, gone in erase_records(connection, ids, time.time()).items():
                counts[name] += gone
        if len(ids) < batch:
            return


def _prune_events(engine: Engine, before: float, batch: int, counts: dict[str, int]) -> None:
    """Delete events whose timestamp is before `before`, `batch` per transaction (one statement
    each: the oldest numbers first, which are mostly the oldest events)."""
    while True:
        oldest = (
            select(events.c.seq)
            .where(events.c.timestamp < before)
            .order_by(events.c.seq)
            .limit(batch)
        )
        with engine.begin() as connection:
            gone = connection.execute(delete(events).where(events.c.seq.in_(oldest))).rowcount
        counts["events"] += gone
        if gone < batch:
            return
