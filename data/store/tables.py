"""The tables of the durable store: interaction events, triage records, agents' corrections.

These are the schema at the newest migration (`data/store/migrations/versions`): a change here
needs a new revision there, and `tests/data/test_store_migrations.py` checks that both agree.
Column sizes are named constants so the checks made before a write (`data.events.validate_event`,
`data.store.triage_log`) refuse exactly what a column cannot hold.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from data.events import ENTITY_ID_LENGTH, EVENT_ID_LENGTH, EVENT_TYPE_LENGTH

TRIAGE_ID_LENGTH: Final = 64
CORRECTION_ID_LENGTH: Final = 64
LANGUAGE_LENGTH: Final = 16
FIELD_LENGTH: Final = 64
LABEL_LENGTH: Final = 256
AGENT_LENGTH: Final = 256
IDEMPOTENCY_KEY_LENGTH: Final = 128

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(EVENT_ID_LENGTH), nullable=False, unique=True),
    Column("user_id", String(ENTITY_ID_LENGTH), nullable=False),
    Column("item_id", String(ENTITY_ID_LENGTH), nullable=False),
    Column("type", String(EVENT_TYPE_LENGTH), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("weight", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    # A feed reads a user's newest events (ORDER BY seq DESC LIMIT n) and their blocking events:
    # each query is answered from its index without visiting the user's other rows.
    Index("ix_events_user_seq", "user_id", "seq"),
    Index("ix_events_user_type", "user_id", "type"),
)

triage_records = Table(
    "triage_records",
    metadata,
    Column("triage_id", String(TRIAGE_ID_LENGTH), primary_key=True),
    Column("customer_id", String(ENTITY_ID_LENGTH), nullable=True),
    Column("item_id", String(ENTITY_ID_LENGTH), nullable=True),
    Column("redacted_text", Text, nullable=False),
    Column("language", String(LANGUAGE_LENGTH), nullable=False),
    Column("is_complaint", Boolean, nullable=False),
    Column("outputs", Text, nullable=False),  # JSON of the triage result (redacted)
    Column("model_versions", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False),
    # The client's key for one contact: a retried request finds its first record by it.
    Column("idempotency_key", String(IDEMPOTENCY_KEY_LENGTH), nullable=True),
    Index("ix_triage_customer", "customer_id"),
    Index("ux_triage_idempotency_key", "idempotency_key", unique=True),
)

corrections = Table(
    "corrections",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("correction_id", String(CORRECTION_ID_LENGTH), nullable=False, unique=True),
    Column(
        "triage_id",
        String(TRIAGE_ID_LENGTH),
        ForeignKey("triage_records.triage_id"),
        nullable=False,
    ),
    Column("field", String(FIELD_LENGTH), nullable=False),
    Column("correct_label", String(LABEL_LENGTH), nullable=False),
    Column("agent", String(AGENT_LENGTH), nullable=False),
    Column("created_at", Float, nullable=False),
)
