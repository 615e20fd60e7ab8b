"""The resolution log: how agents resolved triaged cases, the source of the knowledge base.

An agent records a resolution of a triage record (its text redacted, as the triage text is); the
knowledge base (`models.knowledge`) reads the cases whose outcome solved something, in bounded
batches: offline in `seq` order (`cases_after`), and in the service through a `SeqFollower`
(`case_follower`, `cases_at`), which also picks up a resolution whose number became visible after a
higher one (concurrent inserts on PostgreSQL; see `data.store.follow`). Resolutions are idempotent
by `resolution_id`: the same id with other content is a StoreConflictError, never a silent
duplicate.

A case is resolved once: a resolution of a case whose latest resolution is `resolved` or
`workaround` is refused (CaseAlreadyResolvedError, naming who resolved it and when) unless it says
which resolution it `replaces` (a workaround first, a fix later; a fix that did not hold, reopened
as `not_resolved`), and that must still be the case's latest. An open case (no resolution, or a
latest `not_resolved` attempt) takes any. Each resolution is its own row, numbered within its case
(`ordinal`, unique per case): a resolution is written as the next number after the latest one
read, so of two agents resolving one case at once the database keeps one, and the other is
decided again against it (on SQLite and PostgreSQL alike; no lock held between read and write).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.exc import IntegrityError

from data.events import InvalidFieldError, check_identifier
from data.pii import redact
from data.store.connection import StoreConflictError, StoreError, insert_into
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
from data.store.triage_log import UnknownTriageError, latest_corrections

# The closed vocabulary of outcomes, defined here once (the API schema reads it).
RESOLVED: Final = "resolved"
WORKAROUND: Final = "workaround"
NOT_RESOLVED: Final = "not_resolved"
OUTCOMES: Final = (RESOLVED, WORKAROUND, NOT_RESOLVED)
# Outcomes that tell the next agent something that worked: the knowledge base holds these.
KNOWLEDGE_OUTCOMES: Final = (RESOLVED, WORKAROUND)

MAX_RESOLUTION_BYTES: Final = 8 * 1024  # a resolution is a note, not a document
MAX_CASES_BATCH: Final = 1000  # rows per knowledge-base read: a refresh stays bounded
# A case's message as the knowledge base reads it: its opening, cut in SQL. The encoders read
# the first 2,000 characters (models.knowledge MAX_QUERY_CHARS, READ_CHARS) and the answer
# shows 200; a stored message may be 100 KB, and reading it whole made a batch of 1,000 cases
# up to 100 MB.
CASE_TEXT_CHARS: Final = 2000
# Times a resolution is decided again after another one of its case took its number first (only
# an open case's `not_resolved` attempts leave it open to try again): then it is a conflict.
_WRITE_ATTEMPTS: Final = 3

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
class LatestResolution:
    """A case's latest resolution, as a refused one is told of it."""

    resolution_id: str
    ordinal: int
    outcome: str
    agent: str
    created_at: float

    def sentence(self) -> str:
        """Who recorded it, what and when (UTC), for a refusal's message."""
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.created_at))
        return (
            f"{self.agent} recorded it as {self.outcome} at {when} "
            f"(resolution_id {self.resolution_id})"
        )


class CaseAlreadyResolvedError(StoreConflictError):
    """A resolution the case's state refuses: the case is resolved and the resolution does not
    say it replaces that one, or the one it `replaces` is no longer the case's latest. `latest`
    is the case's latest resolution (None: it has none)."""

    def __init__(self, message: str, latest: LatestResolution | None) -> None:
        super().__init__(message, [latest.resolution_id] if latest else [])
        self.latest = latest


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


def _check_may_follow(
    triage_id: str, latest: LatestResolution | None, replaces: str | None
) -> None:
    """CaseAlreadyResolvedError unless a resolution may follow `latest` (the case's latest
    resolution, None: none yet): any may follow none or a `not_resolved` attempt unless it
    names another as the one it `replaces`; a resolved case takes only one that replaces its
    latest resolution by id."""
    if replaces is None:
        if latest is None or latest.outcome not in KNOWLEDGE_OUTCOMES:
            return
        raise CaseAlreadyResolvedError(
            f"case {triage_id} is already resolved: {latest.sentence()}. To replace that "
            f'resolution with yours, send yours again with "replaces": "{latest.resolution_id}"',
            latest,
        )
    if latest is None:
        raise CaseAlreadyResolvedError(
            f"case {triage_id} has no resolution for yours to replace (replaces "
            f"'{replaces}'): send yours without replaces",
            None,
        )
    if latest.resolution_id != replaces:
        raise CaseAlreadyResolvedError(
            f"resolution '{replaces}' is not the latest of case {triage_id}: {latest.sentence()}. "
            "Read it first; to replace it, send yours with that resolution_id as replaces",
            latest,
        )


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
        replaces: str | None = None,
    ) -> tuple[str, bool]:
        """Store a resolution with its text redacted; returns (resolution_id, stored).

        `stored` is False when this resolution_id was stored before with the same content;
        with other content it is a StoreConflictError. UnknownTriageError if no such triage.
        CaseAlreadyResolvedError when the case is resolved and `replaces` does not name its
        latest resolution, or `replaces` names one that is not (or no longer) the latest.
        """
        resolution_id = resolution_id or uuid.uuid4().hex
        check_resolution(resolution, outcome)
        for name, value, length in (
            ("triage_id", triage_id, TRIAGE_ID_LENGTH),
            ("agent", agent, AGENT_LENGTH),
            ("resolution_id", resolution_id, RESOLUTION_ID_LENGTH),
            ("outcome", outcome, OUTCOME_LENGTH),
            ("replaces", replaces, RESOLUTION_ID_LENGTH),
        ):
            if value is None:
                continue
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
        # A retry of a stored resolution is answered first: by now it is the case's latest,
        # and deciding it again would refuse it as a resolution of a resolved case.
        if self._is_stored_as(row):
            return resolution_id, False
        for _ in range(_WRITE_ATTEMPTS):
            latest = self.latest(triage_id)
            _check_may_follow(triage_id, latest, replaces)
            ordinal = latest.ordinal + 1 if latest else 1
            if (inserted := self._insert({**row, "ordinal": ordinal})) is not None:
                return resolution_id, inserted
            # Another resolution of the case took this number first: decide against it.
        raise StoreConflictError(
            f"case {triage_id} is being resolved by other agents right now; read its latest "
            "resolution and send yours again",
            [resolution_id],
        )

    def latest(self, triage_id: str) -> LatestResolution | None:
        """The case's latest resolution, None if it has none; UnknownTriageError if the store
        holds no such triage."""
        r = resolutions.c
        latest = (
            select(r.resolution_id, r.ordinal, r.outcome, r.agent, r.created_at)
            .where(r.triage_id == triage_id)
            .order_by(r.ordinal.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            known = connection.execute(
                select(triage_records.c.triage_id).where(triage_records.c.triage_id == triage_id)
            ).first()
            if known is None:
                raise UnknownTriageError(f"unknown triage_id '{triage_id}'")
            found = connection.execute(latest).first()
        return LatestResolution(**found._asdict()) if found is not None else None

    def _is_stored_as(self, row: dict[str, Any]) -> bool:
        """True when `row`'s resolution_id is stored with its content; StoreConflictError when
        it is stored with other content; False when it is not stored."""
        content = ("triage_id", "redacted_resolution", "outcome", "agent")
        query = select(*(resolutions.c[name] for name in content)).where(
            resolutions.c.resolution_id == row["resolution_id"]
        )
        with self.engine.connect() as connection:
            stored = connection.execute(query).first()
        if stored is None:
            return False
        if tuple(stored) != tuple(row[name] for name in content):
            raise StoreConflictError(
                f"resolution_id '{row['resolution_id']}' already stored with different content",
                [row["resolution_id"]],
            )
        return True

    def _insert(self, row: dict[str, Any]) -> bool | None:
        """Insert `row`: True when inserted; False for a retry of it stored meanwhile (its id
        and content); None when another resolution of the case holds its ordinal."""
        statement = (
            insert_into(self.engine, resolutions)
            .on_conflict_do_nothing(index_elements=["resolution_id"])
            .returning(resolutions.c.resolution_id)
        )
        try:
            # Its own transaction, the insert its first statement: on SQLite the write lock is
            # taken before anything is read, so a writer that committed meanwhile is waited for,
            # never a stale snapshot's "database is locked".
            with self.engine.begin() as connection:
                inserted = connection.execute(statement, row).first() is not None
        except IntegrityError:
            latest = self.latest(row["triage_id"])
            if latest is None or latest.ordinal < row["ordinal"]:
                raise  # not the (triage_id, ordinal) key: nothing to decide again
            return None
        if not inserted and not self._is_stored_as(row):
            raise StoreError(f"resolution_id '{row['resolution_id']}' could not be stored")
        return inserted

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
                func.substr(triage_records.c.redacted_text, 1, CASE_TEXT_CHARS).label("text"),
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
                    text=row.text,
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
