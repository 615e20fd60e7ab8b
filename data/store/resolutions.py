"""The resolution log: how agents resolved triaged cases, the source of the knowledge base.

An agent records a resolution of a triage record (its text redacted, as the triage text is); the
knowledge base (`models.knowledge`) reads the cases whose outcome solved something, in bounded
batches: offline in `seq` order (`cases_after`), and in the service through a `SeqFollower`
(`case_follower`, `cases_at`), which also picks up a resolution whose number became visible after a
higher one (concurrent inserts on PostgreSQL; see `data.store.follow`). Resolutions are idempotent
by `resolution_id`: the same id with other content is a StoreConflictError, never a silent
duplicate. A case may be resolved more than once (a workaround first, a fix later); each resolution
is its own row.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, Engine, func, select

from data.events import InvalidFieldError, check_identifier
from data.pii import redact
from data.store.connection import StoreError
from data.store.follow import SeqFollower
from data.store.tables import (
    AGENT_LENGTH,
    OUTCOME_LENGTH,
    RESOLUTION_ID_LENGTH,
    TRIAGE_ID_LENGTH,
    corrections,
    resolutions,
    triage_records,
)
from data.store.triage_log import annotate_record, latest_corrections

# The closed vocabulary of outcomes, defined here once (the API schema reads it).
RESOLVED: Final = "resolved"
WORKAROUND: Final = "workaround"
NOT_RESOLVED: Final = "not_resolved"
OUTCOMES: Final = (RESOLVED, WORKAROUND, NOT_RESOLVED)
# Outcomes that tell the next agent something that worked: the knowledge base holds these.
KNOWLEDGE_OUTCOMES: Final = (RESOLVED, WORKAROUND)

MAX_RESOLUTION_BYTES: Final = 8 * 1024  # a resolution is a note, not a document
MAX_CASES_BATCH: Final = 1000  # rows per knowledge-base read: a refresh stays bounded

# Characters a text column cannot hold (NUL, in PostgreSQL) or encode (lone surrogates).
_UNSTORABLE: Final = {0: "\ufffd", **{code: "\ufffd" for code in range(0xD800, 0xE000)}}


# The labels a case is filed under: an agent's correction of one of them refiles the case.
FILING_FIELDS: Final = ("reason", "category", "queue")


def case_is_open() -> ColumnElement[bool]:
    """Per triage record (correlated with `triage_records` in the enclosing query): no
    resolution recorded, or the latest one's outcome is `not_resolved`. Such a case still needs
    an agent: it stays in the desk's queue and counts as an open complaint."""
    latest = (
        select(resolutions.c.outcome)
        .where(resolutions.c.triage_id == triage_records.c.triage_id)
        .order_by(resolutions.c.seq.desc())
        .limit(1)
        .correlate(triage_records)
        .scalar_subquery()
    )
    return func.coalesce(latest, NOT_RESOLVED) == NOT_RESOLVED


class InvalidResolutionError(StoreError):
    """A resolution the log refuses: unknown outcome, empty or oversized text, bad ids."""


@dataclass(frozen=True)
class ResolvedCase:
    """A triaged message and how it was resolved, as the knowledge base reads it (redacted)."""

    seq: int
    triage_id: str
    text: str  # the triaged message, redacted
    reason: str | None
    category: str | None
    queue: str | None
    resolution: str  # redacted
    outcome: str


# Control characters a note has no use for (tabs and line breaks are kept): shown to the next
# agent as similar-case text, they arrive as junk ("ok\ufffd\u0007").
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character_in(text: str) -> str | None:
    """A sentence naming the first control character of `text` (other than a tab or a line
    break) and where it is, or None when there is none."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (
        f"resolution holds the control character U+{ord(found.group()):04X} at character "
        f"{found.start()}: only tabs and line breaks may be in it"
    )


def resolution_too_long(resolution: str) -> str | None:
    """Why `resolution` is over the size limit, or None. The limit is in UTF-8 bytes (what is
    stored), so the sentence also gives characters: a Chinese character takes 3 bytes, and an
    agent who counts 3,000 characters would not guess that 8 KB is already past."""
    size = len(resolution.encode("utf-8", errors="surrogatepass"))
    if size <= MAX_RESOLUTION_BYTES:
        return None
    return (
        f"resolution is {size:,} bytes of UTF-8 ({len(resolution):,} characters; Chinese and "
        f"Japanese take 3 bytes a character); the limit is {MAX_RESOLUTION_BYTES:,} bytes"
    )


def check_resolution(resolution: str, outcome: str) -> None:
    """InvalidResolutionError unless `resolution` and `outcome` can be recorded."""
    if outcome not in OUTCOMES:
        raise InvalidResolutionError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if not isinstance(resolution, str) or not resolution.strip():
        raise InvalidResolutionError("resolution must be a non-empty text")
    if (problem := control_character_in(resolution)) is not None:
        raise InvalidResolutionError(problem)
    if (too_long := resolution_too_long(resolution)) is not None:
        raise InvalidResolutionError(too_long)


class ResolutionLog:
    """Agents' resolutions of triage records, and the resolved cases for the knowledge base."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        triage_id: str,
        resolution: str,
        outcome: str,
        agent: str,
        resolution_id: str | None = None,
    ) -> tuple[str, bool]:
        """Store a resolution with its text redacted; returns (resolution_id, stored).

        `stored` is False when this resolution_id was stored before with the same content;
        with other content it is a StoreConflictError. UnknownTriageError if no such triage.
        """
        resolution_id = resolution_id or uuid.uuid4().hex
        check_resolution(resolution, outcome)
        for name, value, length in (
            ("triage_id", triage_id, TRIAGE_ID_LENGTH),
            ("agent", agent, AGENT_LENGTH),
            ("resolution_id", resolution_id, RESOLUTION_ID_LENGTH),
            ("outcome", outcome, OUTCOME_LENGTH),
        ):
            try:
                check_identifier(name, value, length)
            except InvalidFieldError as error:
                raise InvalidResolutionError(str(error)) from None
        row = {
            "resolution_id": resolution_id,
            "triage_id": triage_id,
            "redacted_resolution": redact(resolution).text.translate(_UNSTORABLE),
            "outcome": outcome,
            "agent": agent,
            "created_at": time.time(),
        }
        content = ("triage_id", "redacted_resolution", "outcome", "agent")
        stored = annotate_record(self.engine, resolutions, "resolution_id", row, content)
        return resolution_id, stored

    def case_follower(self) -> SeqFollower:
        """A reader's position in the resolutions, which also finds resolutions whose number
        became visible late (see `data.store.follow`): read their cases with `cases_at`."""
        return SeqFollower(self.engine, resolutions.c.seq)

    def correction_follower(self) -> SeqFollower:
        """A reader's position in the corrections (see `case_follower`): read what they refile
        with `filings_corrected_at`."""
        return SeqFollower(self.engine, corrections.c.seq)

    def cases_after(self, seq: int, limit: int = MAX_CASES_BATCH) -> list[ResolvedCase]:
        """Resolutions with a KNOWLEDGE_OUTCOMES outcome and `seq` above `seq`, oldest first,
        at most `limit` (capped at MAX_CASES_BATCH), each with its triaged message."""
        limit = max(0, min(int(limit), MAX_CASES_BATCH))
        return self._cases(resolutions.c.seq > seq, limit)

    def cases_at(self, seqs: Collection[int]) -> list[ResolvedCase]:
        """The resolutions numbered `seqs` that have a KNOWLEDGE_OUTCOMES outcome, oldest first,
        each with its triaged message (at most MAX_CASES_BATCH numbers per call)."""
        if len(seqs) > MAX_CASES_BATCH:
            raise ValueError(f"at most {MAX_CASES_BATCH} resolutions per read, got {len(seqs)}")
        return self._cases(resolutions.c.seq.in_(list(seqs)), MAX_CASES_BATCH) if seqs else []

    def _cases(self, which: ColumnElement[bool], limit: int) -> list[ResolvedCase]:
        query = (
            select(
                resolutions.c.seq,
                resolutions.c.triage_id,
                triage_records.c.redacted_text,
                triage_records.c.reason,
                triage_records.c.category,
                triage_records.c.queue,
                resolutions.c.redacted_resolution,
                resolutions.c.outcome,
            )
            .join(triage_records, triage_records.c.triage_id == resolutions.c.triage_id)
            .where(which, resolutions.c.outcome.in_(KNOWLEDGE_OUTCOMES))
            .order_by(resolutions.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            # An agent's correction is what the case was: the knowledge base files it so.
            fixes = latest_corrections(connection, [row.triage_id for row in rows])
        cases = []
        for row in rows:
            fixed = fixes.get(row.triage_id, {})
            cases.append(
                ResolvedCase(
                    seq=int(row.seq),
                    triage_id=row.triage_id,
                    text=row.redacted_text,
                    reason=fixed.get("reason", row.reason),
                    category=fixed.get("category", row.category),
                    queue=fixed.get("queue", row.queue),
                    resolution=row.redacted_resolution,
                    outcome=row.outcome,
                )
            )
        return cases

    def filings_corrected_at(self, seqs: Collection[int]) -> dict[str, dict[str, str]]:
        """For the triages whose filing labels (FILING_FIELDS) corrections `seqs` changed:
        triage_id -> {field: its latest corrected label}. The latest by number, whatever order
        the corrections were read in: a correction that became visible late never undoes a
        newer one. At most MAX_CASES_BATCH numbers per call."""
        if len(seqs) > MAX_CASES_BATCH:
            raise ValueError(f"at most {MAX_CASES_BATCH} corrections per read, got {len(seqs)}")
        if not seqs:
            return {}
        query = select(corrections.c.triage_id).where(
            corrections.c.seq.in_(list(seqs)), corrections.c.field.in_(FILING_FIELDS)
        )
        with self.engine.connect() as connection:
            ids = sorted(set(connection.execute(query).scalars()))
            latest = latest_corrections(connection, ids)
        return {
            triage_id: {f: label for f, label in fields.items() if f in FILING_FIELDS}
            for triage_id, fields in latest.items()
        }

    def all_cases(self, batch: int = MAX_CASES_BATCH) -> list[ResolvedCase]:
        """Every resolved case, read in batches of `batch` (for offline use: the CLI)."""
        cases: list[ResolvedCase] = []
        last = 0
        while chunk := self.cases_after(last, batch):
            cases.extend(chunk)
            last = chunk[-1].seq
        return cases
