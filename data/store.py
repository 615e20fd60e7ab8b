"""The durable store of interaction events, triage records and agents' corrections.

SQLite by default (a file under AGORA_HOME), PostgreSQL by URL (`AGORA_STORE_URL`). A write
returns only after its transaction committed, so an acknowledged event survives a crash. Every
event carries a client-chosen `event_id`; a retried batch inserts nothing twice (the unique key
plus ON CONFLICT DO NOTHING), which makes client retries safe.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from data import schemas as S
from data.paths import agora_home
from data.pii import redact

logger = logging.getLogger(__name__)

STORE_URL_ENV = "AGORA_STORE_URL"
EVENT_TYPES = ("view", "click", "like", "share", "purchase", "rating", "dislike", "complaint")
NEGATIVE_TYPES = frozenset({"dislike", "complaint"})

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("user_id", String(256), nullable=False),
    Column("item_id", String(256), nullable=False),
    Column("type", String(32), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("weight", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Index("ix_events_user", "user_id"),
)

triage_records = Table(
    "triage_records",
    metadata,
    Column("triage_id", String(64), primary_key=True),
    Column("customer_id", String(256), nullable=True),
    Column("item_id", String(256), nullable=True),
    Column("redacted_text", Text, nullable=False),
    Column("language", String(16), nullable=False),
    Column("is_complaint", Boolean, nullable=False),
    Column("outputs", Text, nullable=False),  # JSON of the triage result (redacted)
    Column("model_versions", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False),
    Index("ix_triage_customer", "customer_id"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("correction_id", String(64), nullable=False, unique=True),
    Column("triage_id", String(64), ForeignKey("triage_records.triage_id"), nullable=False),
    Column("field", String(64), nullable=False),
    Column("correct_label", String(256), nullable=False),
    Column("agent", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
)


class StoreError(ValueError):
    """Input the store refuses; the message names the field and value."""


class UnknownTriageError(StoreError):
    """A correction names a triage record the store does not hold."""


@dataclass(frozen=True)
class Event:
    event_id: str
    user_id: str
    item_id: str
    type: str
    timestamp: int
    weight: float = 1.0


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    duplicates: int


def default_store_url() -> str:
    return os.environ.get(STORE_URL_ENV) or f"sqlite:///{agora_home() / 'agora-store.db'}"


def _sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; synchronous=FULL makes each commit durable
    # across power loss, which is what "acknowledged only after the write is durable" needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """Events, triage records and corrections behind one SQLAlchemy engine."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_store_url()
        if self.url.startswith("sqlite:///"):
            path = self.url.removeprefix("sqlite:///")
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # A server database can drop idle connections; a SQLite file cannot, so skip the ping.
        ping = not self.url.startswith("sqlite")
        self.engine: Engine = create_engine(self.url, pool_pre_ping=ping)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_durability)
        metadata.create_all(self.engine)

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # -- events -------------------------------------------------------------------------------

    def add_events(self, batch: Sequence[Event]) -> WriteResult:
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
            self._insert(events)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(events.c.event_id)
        )
        with self.engine.begin() as connection:
            inserted = len(connection.execute(statement, rows).all())
        return WriteResult(inserted, len(rows) - inserted)

    def events_frame(self, user_id: str | None = None) -> pd.DataFrame:
        """Stored events as a canonical interactions frame (plus event type and id)."""
        query = select(events).order_by(events.c.seq)
        if user_id is not None:
            query = query.where(events.c.user_id == user_id)
        with self.engine.connect() as connection:
            frame = pd.DataFrame(connection.execute(query).mappings().all())
        if frame.empty:
            frame = pd.DataFrame(columns=[c.name for c in events.columns])
        frame = frame.rename(columns={"weight": S.RATING})
        return S.conform(
            frame[[S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP, "type", "event_id"]],
            S.Kind.INTERACTIONS,
        )

    def user_history(self, user_id: str) -> list[str]:
        """Items the user engaged with positively, oldest first (negative events excluded)."""
        return self.feed_signals(user_id)[0]

    def blocked_items(self, user_id: str) -> set[str]:
        """Items the user complained about (events or triaged complaints naming the item)."""
        return self.feed_signals(user_id)[1]

    def feed_signals(self, user_id: str) -> tuple[list[str], set[str]]:
        """(positive history oldest first, complained-about items), on one connection:
        every feed request needs both."""
        history = (
            select(events.c.item_id)
            .where(events.c.user_id == user_id, events.c.type.not_in(NEGATIVE_TYPES))
            .order_by(events.c.timestamp, events.c.seq)
        )
        by_event = select(events.c.item_id).where(
            events.c.user_id == user_id, events.c.type == "complaint"
        )
        by_triage = select(triage_records.c.item_id).where(
            triage_records.c.customer_id == user_id,
            triage_records.c.item_id.is_not(None),
            triage_records.c.is_complaint.is_(True),
        )
        with self.engine.connect() as connection:
            items = [row[0] for row in connection.execute(history)]
            blocked = {r[0] for r in connection.execute(by_event)}
            blocked |= {r[0] for r in connection.execute(by_triage)}
        return items, blocked

    def count_events(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(events)).scalar_one())

    # -- triage and corrections ---------------------------------------------------------------

    def record_triage(
        self,
        text: str,
        outputs: Mapping[str, Any],
        model_versions: Mapping[str, str],
        language: str,
        is_complaint: bool,
        customer_id: str | None = None,
        item_id: str | None = None,
    ) -> str:
        """Store a triage with its text redacted; return the new triage_id."""
        triage_id = uuid.uuid4().hex
        row = {
            "triage_id": triage_id,
            "customer_id": customer_id,
            "item_id": item_id,
            "redacted_text": redact(text).text,
            "language": language,
            "is_complaint": bool(is_complaint),
            "outputs": json.dumps(_redact_strings(outputs), ensure_ascii=False, sort_keys=True),
            "model_versions": json.dumps(dict(model_versions), sort_keys=True),
            "created_at": time.time(),
        }
        with self.engine.begin() as connection:
            connection.execute(triage_records.insert(), row)
        return triage_id

    def prior_contacts(self, customer_id: str) -> int:
        query = select(func.count()).where(triage_records.c.customer_id == customer_id)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def add_correction(
        self,
        triage_id: str,
        field: str,
        correct_label: str,
        agent: str,
        correction_id: str | None = None,
    ) -> tuple[str, bool]:
        """Store an agent's correction; returns (correction_id, inserted). Idempotent by id."""
        for name, value in {"field": field, "correct_label": correct_label, "agent": agent}.items():
            if not value or not value.strip():
                raise StoreError(f"{name} must not be empty")
        correction_id = correction_id or uuid.uuid4().hex
        row = {
            "correction_id": correction_id,
            "triage_id": triage_id,
            "field": field,
            "correct_label": correct_label,
            "agent": agent,
            "created_at": time.time(),
        }
        statement = (
            self._insert(corrections)
            .on_conflict_do_nothing(index_elements=["correction_id"])
            .returning(corrections.c.correction_id)
        )
        # The existence check and the insert share one transaction (one connection per request).
        with self.engine.begin() as connection:
            exists = connection.execute(
                select(triage_records.c.triage_id).where(triage_records.c.triage_id == triage_id)
            ).first()
            if exists is None:
                raise UnknownTriageError(f"unknown triage_id '{triage_id}'")
            inserted = connection.execute(statement, row).first() is not None
        return correction_id, inserted

    def corrected_texts(self, field: str) -> pd.DataFrame:
        """The latest correction of `field` per triage record, with its redacted text."""
        query = (
            select(
                triage_records.c.triage_id,
                triage_records.c.redacted_text,
                triage_records.c.language,
                corrections.c.correct_label,
                corrections.c.seq,
            )
            .join(corrections, corrections.c.triage_id == triage_records.c.triage_id)
            .where(corrections.c.field == field)
            .order_by(corrections.c.seq)
        )
        with self.engine.connect() as connection:
            frame = pd.DataFrame(connection.execute(query).mappings().all())
        if frame.empty:
            return pd.DataFrame(columns=["triage_id", S.TEXT, S.LABEL, S.LANGUAGE])
        frame = frame.drop_duplicates("triage_id", keep="last")
        return frame.rename(columns={"redacted_text": S.TEXT, "correct_label": S.LABEL})[
            ["triage_id", S.TEXT, S.LABEL, S.LANGUAGE]
        ].reset_index(drop=True)


def _redact_strings(value: Any) -> Any:
    """Redact every string inside a JSON-like value (evidence terms can quote the text)."""
    if isinstance(value, str):
        return redact(value).text
    if isinstance(value, Mapping):
        return {k: _redact_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v) for v in value]
    return value


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
