"""Erasing one customer's data on request (PIPL art. 47, GDPR art. 17), with an audit row.

`erase_user` deletes, in one transaction, the customer's interaction events (by `user_id`),
their triage records (by `customer_id`) with those records' corrections and resolutions, and
their segment row; it returns how many rows of each table went. Erasing again finds nothing and
succeeds: the caller cannot tell (and need not know) whether we held anything.

Each erasure writes an `erasures` row: who asked (the API key's name, the CLI's operator), when,
the counts, and the SHA-256 of the id, never the id: an auditor who is given the id can confirm it
was erased (`erasures_of`). A hash of a guessable id (a number, an e-mail) is not anonymous: whoever
can guess ids can test them against it.

Resolved cases live on in each service worker's in-memory knowledge base: every erased record that
had a resolution is listed in `erased_cases` (its triage id only: ids are random, not personal),
which the workers follow by `seq` (`follower`, `erased_at`) and drop those cases at their next
refresh. The record ids are read once and deleted by chunks of ERASE_CHUNK ids, so no statement
grows with the customer's history (SQLite and PostgreSQL alike: no dialect-specific SQL).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, Float, delete, func, literal, select

from data.events import ENTITY_ID_LENGTH, InvalidFieldError, check_identifier
from data.store.connection import StoreError
from data.store.follow import MAX_BATCH, SeqFollower
from data.store.tables import (
    AGENT_LENGTH,
    corrections,
    erased_cases,
    erasures,
    events,
    resolutions,
    triage_records,
    user_segments,
)

logger = logging.getLogger(__name__)

USER_ERASURE: Final = "user"
RETENTION_RUN: Final = "retention"
# Triage ids per DELETE or INSERT: an IN list stays far below SQLite's bound-parameter limit.
ERASE_CHUNK: Final = 500
# The tables an erasure counts, in the order of its answer.
ERASED_TABLES: Final = ("events", "triage_records", "corrections", "resolutions", "user_segments")


class InvalidErasureError(StoreError):
    """An erasure the store refuses: a malformed id or requester."""


@dataclass(frozen=True)
class ErasureRecord:
    """One audit row: what kind, who asked, when (epoch s), rows deleted per table."""

    seq: int
    kind: str
    requested_by: str
    created_at: float
    counts: dict[str, int]
    parameters: dict[str, Any] | None


def subject_digest(user_id: str) -> str:
    """The SHA-256 (hex) of `user_id` as UTF-8: what the audit row keeps instead of the id."""
    return hashlib.sha256(user_id.encode("utf-8", errors="surrogatepass")).hexdigest()


def check_requester(requested_by: str) -> str:
    try:
        return check_identifier("requested_by", requested_by, AGENT_LENGTH)
    except InvalidFieldError as error:
        raise InvalidErasureError(str(error)) from None


def erase_records(connection: Connection, triage_ids: Sequence[str], now: float) -> dict[str, int]:
    """Delete the triage records `triage_ids` with their corrections and resolutions, listing
    those that had a resolution in `erased_cases` (inside the caller's transaction); returns
    rows deleted per table. Shared with retention (`data.store.retention`)."""
    counts = {"triage_records": 0, "corrections": 0, "resolutions": 0}
    for start in range(0, len(triage_ids), ERASE_CHUNK):
        chunk = list(triage_ids[start : start + ERASE_CHUNK])
        # One statement that reads and writes: on SQLite it holds the write lock from its start,
        # so no resolution of these records can be added between the listing and the delete.
        resolved = (
            select(resolutions.c.triage_id, literal(now, Float))
            .where(resolutions.c.triage_id.in_(chunk))
            .distinct()
        )
        connection.execute(erased_cases.insert().from_select(["triage_id", "erased_at"], resolved))
        for name, table in (("corrections", corrections), ("resolutions", resolutions)):
            gone = connection.execute(delete(table).where(table.c.triage_id.in_(chunk)))
            counts[name] += gone.rowcount
        gone = connection.execute(
            delete(triage_records).where(triage_records.c.triage_id.in_(chunk))
        )
        counts["triage_records"] += gone.rowcount
    return counts


def audit(
    connection: Connection,
    kind: str,
    requested_by: str,
    counts: dict[str, int],
    now: float,
    subject: str | None = None,
    parameters: dict[str, Any] | None = None,
    events_seq: int | None = None,
) -> int:
    """Write one `erasures` row (inside the caller's transaction); returns its seq."""
    row = {
        "events_seq": events_seq,
        "kind": kind,
        "requested_by": requested_by,
        "subject_sha256": subject,
        "counts": json.dumps(counts, sort_keys=True),
        "parameters": json.dumps(parameters, sort_keys=True) if parameters is not None else None,
        "created_at": now,
    }
    return int(connection.execute(erasures.insert().returning(erasures.c.seq), row).scalar_one())


class Erasures:
    """Customers' erasures, their audit trail, and the erased cases workers follow."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def erase_user(self, user_id: str, requested_by: str) -> dict[str, int]:
        """Delete everything the store holds of `user_id` in one transaction; returns rows
        deleted per table (ERASED_TABLES, zeros for an unknown user). InvalidErasureError for a
        malformed id or requester."""
        try:
            check_identifier("user_id", user_id, ENTITY_ID_LENGTH)
        except InvalidFieldError as error:
            raise InvalidErasureError(str(error)) from None
        check_requester(requested_by)
        now = time.time()
        with self.engine.begin() as connection:
            # A write first: on SQLite it takes the write lock before anything is read, so the
            # ids read below are the latest (no stale snapshot's "database is locked").
            segments = connection.execute(
                delete(user_segments).where(user_segments.c.user_id == user_id)
            ).rowcount
            # FOR UPDATE (PostgreSQL; SQLite has no such clause and needs none): a correction
            # or resolution of these records sent meanwhile waits for this erasure.
            ids = list(
                connection.execute(
                    select(triage_records.c.triage_id)
                    .where(triage_records.c.customer_id == user_id)
                    .order_by(triage_records.c.triage_id)
                    .with_for_update()
                ).scalars()
            )
            counts = erase_records(connection, ids, now)
            # Read under the write lock (SQLite) before the delete: every event of the user
            # numbers at most this, so a model that read the log beyond it never saw them.
            through = connection.execute(select(func.max(events.c.seq))).scalar()
            counts["events"] = connection.execute(
                delete(events).where(events.c.user_id == user_id)
            ).rowcount
            counts["user_segments"] = segments
            counts = {name: int(counts[name]) for name in ERASED_TABLES}
            audit(
                connection,
                USER_ERASURE,
                requested_by,
                counts,
                now,
                subject_digest(user_id),
                events_seq=int(through or 0),
            )
        logger.info("erased a user for %s: %s", requested_by, counts)
        return counts

    def forgets(self, user_id: str, events_through: int) -> bool:
        """Whether a model whose training read the events log through `events_through` (0: not
        at all, a dataset's model) must treat `user_id` as a stranger: the user was erased and
        that read did not go beyond the log's end at the erasure. Such a model holds the user's
        factors and history until a retrain that read the log after the erasure is served. A
        read that ended exactly at that end counts as before it (it may have been): one indexed
        lookup per call."""
        query = (
            select(erasures.c.seq)
            .where(
                erasures.c.subject_sha256 == subject_digest(user_id),
                erasures.c.kind == USER_ERASURE,
                erasures.c.events_seq >= events_through,
            )
            .limit(1)
        )
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def erasures_of(self, user_id: str) -> list[ErasureRecord]:
        """The audit rows of erasures of `user_id` (found by its hash), oldest first."""
        query = (
            select(erasures)
            .where(erasures.c.subject_sha256 == subject_digest(user_id))
            .order_by(erasures.c.seq)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            ErasureRecord(
                seq=int(row.seq),
                kind=row.kind,
                requested_by=row.requested_by,
                created_at=float(row.created_at),
                counts=json.loads(row.counts),
                parameters=json.loads(row.parameters) if row.parameters else None,
            )
            for row in rows
        ]

    def follower(self) -> SeqFollower:
        """A reader's position in the erased cases (see `data.store.follow`): read their triage
        ids with `erased_at`."""
        return SeqFollower(self.engine, erased_cases.c.seq)

    def erased_at(self, seqs: Collection[int]) -> list[str]:
        """The triage ids of erased cases numbered `seqs` (at most MAX_BATCH numbers)."""
        if len(seqs) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} erased cases per read, got {len(seqs)}")
        if not seqs:
            return []
        query = select(erased_cases.c.triage_id).where(erased_cases.c.seq.in_(list(seqs)))
        with self.engine.connect() as connection:
            return sorted(set(connection.execute(query).scalars()))
