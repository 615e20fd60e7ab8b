"""Users' segments: the assignments of the last segmentation run, and what segmenting reads.

A run's assignments replace the previous run's as a whole, in one transaction: a reader sees
the old run or the new one, never a mix, and a run that fails half-way leaves the old one in
place. Rows are taken from an iterable in chunks, so a run over millions of users never holds
them all as statements at once.

What a segmentation reads of the event log and the triage log is aggregated here, in the
database (GROUP BY), for all users at once or for one user (a profile request): per user their
event count and first/last timestamps, and per customer their contacts and complaints. A
complaint is *open* while no resolution is recorded for its triage record, or its latest one is
`not_resolved`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

import pandas as pd
from sqlalchemy import Engine, bindparam, case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from data.events import ENTITY_ID_LENGTH, InvalidFieldError, check_identifier
from data.store.connection import StoreError
from data.store.resolutions import case_is_open
from data.store.tables import (
    RUN_ID_LENGTH,
    SEGMENT_LENGTH,
    events,
    triage_records,
    user_segments,
)
from data.store.triage_log import (
    TRUE_LABEL,
    is_complaint_after_corrections,
    label_after_corrections,
)

REPLACE_CHUNK: Final = 5_000  # rows sent per executemany while replacing a run
MAX_RECENT_COMPLAINTS: Final = 50  # a profile lists at most this many complaints

# Columns of `activity_by_user` and `complaints_by_customer` (the user id column is user_id).
ACTIVITY_COLUMNS: Final = ["user_id", "events", "first_event_at", "last_event_at"]
CONTACT_COLUMNS: Final = [
    "user_id",
    "contacts",
    "first_contact_at",
    "last_contact_at",
    "complaints",
    "open_complaints",
    "last_complaint_at",
]


@dataclass(frozen=True)
class SegmentRow:
    """One user's assignment as a run writes it; `details` is JSON text (the features used)."""

    user_id: str
    segment: str
    details: str


@dataclass(frozen=True)
class StoredSegment:
    """One user's assignment as stored: the run that made it and when."""

    user_id: str
    segment: str
    details: dict[str, Any]
    run_id: str
    computed_at: float


class UserSegments:
    """The user_segments table, and the aggregates a segmentation reads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Every feed request reads one user's segment: built once, bound per call.
        self._of = select(user_segments).where(user_segments.c.user_id == bindparam("user_id"))

    # -- assignments --------------------------------------------------------------------------

    def replace(
        self,
        run_id: str,
        rows: Iterable[SegmentRow],
        computed_at: float | None = None,
        chunk_size: int = REPLACE_CHUNK,
    ) -> int:
        """Replace every stored assignment by `rows` (the run `run_id`), atomically.

        Returns the rows written. StoreError, with the previous run left in place, for a row
        the table cannot hold or a user id given twice; any exception raised by `rows` while
        it is consumed also leaves the previous run in place.
        """
        _check(run_id, "run_id", RUN_ID_LENGTH)
        computed_at = time.time() if computed_at is None else float(computed_at)
        written = 0
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(user_segments))
                for chunk in _chunks(rows, max(1, chunk_size)):
                    values = [_segment_values(row, run_id, computed_at) for row in chunk]
                    connection.execute(insert(user_segments), values)
                    written += len(values)
        except IntegrityError:
            raise StoreError(
                "a run assigns one user_id twice; nothing was written (the previous run stays)"
            ) from None
        return written

    def of(self, user_id: str) -> StoredSegment | None:
        """The user's assignment in the last run, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(self._of, {"user_id": user_id}).first()
        if row is None:
            return None
        return StoredSegment(
            row.user_id, row.segment, json.loads(row.details), row.run_id, row.computed_at
        )

    def sizes(self) -> dict[str, int]:
        """Users per segment in the stored run."""
        query = select(user_segments.c.segment, func.count()).group_by(user_segments.c.segment)
        with self.engine.connect() as connection:
            return {segment: int(n) for segment, n in connection.execute(query)}

    # -- what a segmentation reads ------------------------------------------------------------

    def activity_by_user(self, user_id: str | None = None) -> pd.DataFrame:
        """Per user (or for one): stored events, first and last event timestamps (epoch s)."""
        query = select(
            events.c.user_id,
            func.count(),
            func.min(events.c.timestamp),
            func.max(events.c.timestamp),
        ).group_by(events.c.user_id)
        if user_id is not None:
            query = query.where(events.c.user_id == user_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(rows, columns=ACTIVITY_COLUMNS)
        return frame.astype({"user_id": str, "events": "int64"}).astype(
            {"first_event_at": "float64", "last_event_at": "float64"}
        )

    def complaints_by_customer(self, customer_id: str | None = None) -> pd.DataFrame:
        """Per customer (or for one): triage contacts, their first and last times, complaints,
        open complaints (no resolution, or the latest is not_resolved) and the last complaint's
        time. A record's time is when its message was written (`occurred_at`), else when it
        arrived; it is a complaint as an agent last corrected it, else as the model said."""
        t = triage_records.c
        when = func.coalesce(t.occurred_at, t.created_at)
        complaint = is_complaint_after_corrections() == TRUE_LABEL
        query = (
            select(
                t.customer_id,
                func.count(),
                func.min(when),
                func.max(when),
                func.sum(case((complaint, 1), else_=0)),
                func.sum(case((complaint & case_is_open(), 1), else_=0)),
                func.max(case((complaint, when), else_=None)),
            )
            .where(t.customer_id.is_not(None))
            .group_by(t.customer_id)
        )
        if customer_id is not None:
            query = query.where(t.customer_id == customer_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(rows, columns=CONTACT_COLUMNS)
        return frame.astype(
            {
                "user_id": str,
                "contacts": "int64",
                "complaints": "int64",
                "open_complaints": "int64",
                "first_contact_at": "float64",
                "last_contact_at": "float64",
                "last_complaint_at": "float64",
            }
        )

    def recent_complaints(
        self, customer_id: str, limit: int = MAX_RECENT_COMPLAINTS
    ) -> list[dict[str, Any]]:
        """The customer's newest triaged complaints (labels, item, times, open or not), newest
        first, at most `limit` (and never more than MAX_RECENT_COMPLAINTS). No text. Labels are
        as agents last corrected them; a case whose latest resolution is `not_resolved` is open."""
        t = triage_records.c
        when = func.coalesce(t.occurred_at, t.created_at)
        query = (
            select(
                t.triage_id,
                t.item_id,
                when.label("at"),
                label_after_corrections("reason", t.reason).label("reason"),
                label_after_corrections("category", t.category).label("category"),
                label_after_corrections("sentiment", t.sentiment).label("sentiment"),
                case_is_open().label("open"),
            )
            .where(t.customer_id == customer_id, is_complaint_after_corrections() == TRUE_LABEL)
            .order_by(when.desc(), t.triage_id)
            .limit(max(0, min(limit, MAX_RECENT_COMPLAINTS)))
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]


def _chunks(rows: Iterable[SegmentRow], size: int) -> Iterator[list[SegmentRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _check(value: object, name: str, max_length: int) -> str:
    try:
        return check_identifier(name, value, max_length)
    except InvalidFieldError as error:
        raise StoreError(str(error)) from None


def _segment_values(row: SegmentRow, run_id: str, computed_at: float) -> dict[str, Any]:
    _check(row.user_id, "user_id", ENTITY_ID_LENGTH)
    _check(row.segment, "segment", SEGMENT_LENGTH)
    if not isinstance(row.details, str):
        raise StoreError(f"details of user {row.user_id!r} must be JSON text")
    return {
        "user_id": row.user_id,
        "segment": row.segment,
        "details": row.details,
        "run_id": run_id,
        "computed_at": computed_at,
    }
