"""The tables of the durable store: interaction events, triage records, agents' corrections."""

from __future__ import annotations

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
