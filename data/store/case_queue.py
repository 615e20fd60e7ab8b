"""The support desk's queue: recent triaged cases, most urgent first, with what an agent needs.

One read, bounded by a time window and a row limit: the cases (redacted text, the triage's
answers, its evidence), the latest correction of each field and the latest resolution of each
case. The urgency order comes from the caller (the triage schema owns that vocabulary); a level
the caller does not name sorts last.

A queue is read page by page from a position (`QueuePosition`: the last case of the page before,
by the queue's own order), not from an offset: cases that arrive meanwhile, or leave the queue
when an agent resolves them, neither shift later pages nor make a case show twice. Filters
(`QueueFilter`: window, status, queue, urgency) read queue and urgency as agents corrected them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import ColumnElement, Engine, and_, case, func, not_, or_, select

from data.store.resolutions import case_is_open
from data.store.tables import resolutions, triage_records
from data.store.triage_log import label_after_corrections, latest_corrections

MAX_QUEUE_ROWS: Final = 200  # a page an agent reads; the next page starts from its last case
# The case's status as the queue filters it: open (no resolution, or a `not_resolved` attempt
# last), resolved (resolved or worked around, last), or either.
STATUSES: Final = ("open", "resolved", "all")
# A case's text as the queue shows it: its first characters, cut in SQL. A stored text may be
# 100 KB, and a full page of 200 such cases made a 20 MB answer (and read as much) per call;
# 4,000 characters are about two pages of a letter. `text_chars` tells the whole length.
QUEUE_TEXT_CHARS: Final = 4000


@dataclass(frozen=True)
class QueuedCase:
    """One triaged case as the desk shows it (text and strings already redacted at record)."""

    triage_id: str
    created_at: float
    occurred_at: float | None
    customer_id: str | None
    item_id: str | None
    text: str  # the first QUEUE_TEXT_CHARS characters
    text_chars: int  # the whole text's length: more than len(text) when it was cut
    language: str
    is_complaint: bool
    sentiment: str | None
    reason: str | None
    category: str | None
    queue: str | None
    urgency: str | None
    evidence: list[dict[str, Any]]
    corrections: dict[str, str] = field(default_factory=dict)  # field -> latest correct label
    # The latest: resolution_id, outcome, resolution, agent, created_at (an open case's is
    # `not_resolved`).
    resolution: dict[str, Any] | None = None


@dataclass(frozen=True)
class QueueFilter:
    """Which cases a queue read lists: recorded in [since, until) (epoch seconds), of `status`
    (STATUSES), and of `queue` and `urgency` as agents last corrected them (None: any)."""

    since: float
    until: float = float("inf")
    status: str = "open"
    queue: str | None = None
    urgency: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")

    def where(self) -> list[ColumnElement[bool]]:
        """The filter's conditions on `triage_records`."""
        t = triage_records.c
        conditions = [t.created_at >= self.since]
        if self.until != float("inf"):
            conditions.append(t.created_at < self.until)
        if self.status == "open":
            conditions.append(case_is_open())  # a not_resolved case still needs an agent
        elif self.status == "resolved":
            conditions.append(not_(case_is_open()))
        if self.queue is not None:
            conditions.append(label_after_corrections("queue", t.queue) == self.queue)
        if self.urgency is not None:
            conditions.append(label_after_corrections("urgency", t.urgency) == self.urgency)
        return conditions


@dataclass(frozen=True)
class QueuePosition:
    """Where a page of the queue ended: its last case's urgency rank (its level's index in the
    order given, -1 for a level not in it), arrival and id. The next page starts after it."""

    rank: int
    created_at: float
    triage_id: str


class CaseQueue:
    """Reads the desk's queue from the triage log, its corrections and resolutions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def recent(
        self,
        since: float,
        urgency_order: tuple[str, ...],
        limit: int = 50,
        include_resolved: bool = False,
    ) -> list[QueuedCase]:
        """The first page of the cases recorded at or after `since` (see `page`)."""
        which = QueueFilter(since, status="all" if include_resolved else "open")
        return self.page(which, urgency_order, limit)[0]

    def page(
        self,
        which: QueueFilter,
        urgency_order: tuple[str, ...],
        limit: int = 50,
        after: QueuePosition | None = None,
    ) -> tuple[list[QueuedCase], QueuePosition | None]:
        """Up to `limit` cases `which` selects, most urgent first, then newest, then by id,
        starting after `after`; and the position to read the next page from (None: no more).

        `urgency_order` lists the levels from least to most urgent. Urgency is an agent's latest
        correction of it, else the model's: a case an agent escalated to critical rises to the
        top (it used to keep the model's place, below every case the model called high). A case
        whose urgency is corrected between two pages moves: it may be met twice, or not at all.
        """
        if not 1 <= limit <= MAX_QUEUE_ROWS:
            raise ValueError(f"limit must be from 1 to {MAX_QUEUE_ROWS}, got {limit}")
        t = triage_records.c
        rank = case(
            {level: position for position, level in enumerate(urgency_order)},
            value=label_after_corrections("urgency", t.urgency),
            else_=-1,
        )
        shown = [column for column in triage_records.c if column.name != "redacted_text"]
        query = (
            select(
                *shown,
                func.substr(t.redacted_text, 1, QUEUE_TEXT_CHARS).label("redacted_text"),
                func.length(t.redacted_text).label("text_chars"),
                rank.label("urgency_rank"),
            )
            .where(*which.where())
            .order_by(rank.desc(), t.created_at.desc(), t.triage_id)
            .limit(limit + 1)  # one more tells whether there is a next page
        )
        if after is not None:
            query = query.where(
                or_(
                    rank < after.rank,
                    and_(
                        rank == after.rank,
                        or_(
                            t.created_at < after.created_at,
                            and_(t.created_at == after.created_at, t.triage_id > after.triage_id),
                        ),
                    ),
                )
            )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
            more, rows = len(rows) > limit, rows[:limit]
            ids = [row["triage_id"] for row in rows]
            fixes = latest_corrections(connection, ids)
            # Also of open cases: an earlier attempt (`not_resolved`) is what the next agent
            # needs to read first; it was left out, as if nobody had touched the case.
            resolved = _latest_resolutions(connection, ids)
        cases = [
            _queued(row, fixes.get(row["triage_id"], {}), resolved.get(row["triage_id"]))
            for row in rows
        ]
        if not more:
            return cases, None
        last = rows[-1]
        return cases, QueuePosition(
            int(last["urgency_rank"]), last["created_at"], last["triage_id"]
        )

    def count(self, which: QueueFilter) -> int:
        """How many cases `which` selects over all its pages: the page says "50 of 180" rather
        than passing a full page off as the whole queue."""
        query = select(func.count()).select_from(triage_records).where(*which.where())
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())


def _latest_resolutions(connection: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    r = resolutions.c
    query = (
        select(
            r.triage_id, r.resolution_id, r.outcome, r.redacted_resolution, r.agent, r.created_at
        )
        .where(r.triage_id.in_(ids))
        .order_by(r.seq)
    )
    return {
        row.triage_id: {
            # What a resolution that replaces this one names (`replaces`).
            "resolution_id": row.resolution_id,
            "outcome": row.outcome,
            "resolution": row.redacted_resolution,
            "agent": row.agent,
            "created_at": row.created_at,
        }
        for row in connection.execute(query)
    }


def _evidence_of(outputs: str) -> list[dict[str, Any]]:
    """The evidence list inside a record's outputs JSON (empty if absent or unreadable)."""
    try:
        evidence = json.loads(outputs).get("evidence", [])
    except (ValueError, AttributeError):
        return []
    return evidence if isinstance(evidence, list) else []


def _queued(row: Any, fixes: dict[str, str], resolution: dict[str, Any] | None) -> QueuedCase:
    return QueuedCase(
        triage_id=row["triage_id"],
        created_at=row["created_at"],
        occurred_at=row["occurred_at"],
        customer_id=row["customer_id"],
        item_id=row["item_id"],
        text=row["redacted_text"],
        text_chars=int(row["text_chars"]),
        language=row["language"],
        is_complaint=bool(row["is_complaint"]),
        sentiment=row["sentiment"],
        reason=row["reason"],
        category=row["category"],
        queue=row["queue"],
        urgency=row["urgency"],
        evidence=_evidence_of(row["outputs"]),
        corrections=fixes,
        resolution=resolution,
    )
