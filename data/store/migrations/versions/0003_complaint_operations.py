"""Complaint operations: triage answers as columns, resolutions, complaint alerts, user segments.

- triage_records gains `occurred_at` (when the message was written, if the client says) and the
  triage's answers as columns (sentiment, reason, category, queue, urgency), backfilled from each
  record's `outputs` JSON, so analytics group and count in the database.
- resolutions: how an agent resolved a triaged case (redacted), the knowledge base's source.
- complaint_alerts: one row per raised spike alert (unique key: one alert per spike).
- user_segments: each user's tier from the latest `agora segments` run.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ANSWERS = ("sentiment", "reason", "category", "queue", "urgency")
_BACKFILL_BATCH = 5000


def upgrade() -> None:
    op.add_column("triage_records", sa.Column("occurred_at", sa.Float, nullable=True))
    for name in _ANSWERS:
        size = 16 if name == "urgency" else 256
        op.add_column("triage_records", sa.Column(name, sa.String(size), nullable=True))
    op.create_index("ix_triage_created", "triage_records", ["created_at"])
    op.create_index("ix_triage_occurred", "triage_records", ["occurred_at"])
    _backfill_answers()
    op.create_table(
        "resolutions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resolution_id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "triage_id",
            sa.String(64),
            sa.ForeignKey("triage_records.triage_id"),
            nullable=False,
        ),
        sa.Column("redacted_resolution", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("agent", sa.String(256), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_resolutions_triage", "resolutions", ["triage_id"])
    op.create_table(
        "complaint_alerts",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_key", sa.String(512), nullable=False, unique=True),
        sa.Column("dimension", sa.String(32), nullable=False),
        sa.Column("group_value", sa.String(256), nullable=False),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("window_end", sa.Float, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_alerts_group_end", "complaint_alerts", ["dimension", "group_value", "window_end"]
    )
    op.create_table(
        "user_segments",
        sa.Column("user_id", sa.String(256), primary_key=True),
        sa.Column("segment", sa.String(64), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.Float, nullable=False),
    )


def _answers_of(outputs: str) -> dict[str, Any]:
    """The answer columns read from one record's outputs JSON (None where it has none)."""
    try:
        result = json.loads(outputs)
    except ValueError:
        return dict.fromkeys(_ANSWERS)

    def label(key: str) -> str | None:
        part = result.get(key)
        return part.get("label") if isinstance(part, dict) else None

    routing = result.get("routing") if isinstance(result.get("routing"), dict) else {}
    urgency = result.get("urgency") if isinstance(result.get("urgency"), dict) else {}
    return {
        "sentiment": label("sentiment"),
        "reason": label("reason"),
        "category": label("category"),
        "queue": routing.get("queue"),
        "urgency": urgency.get("level"),
    }


def _backfill_answers() -> None:
    """Fill the answer columns of existing records, a batch at a time (bounded memory)."""
    connection = op.get_bind()
    records = sa.table(
        "triage_records",
        sa.column("triage_id", sa.String),
        sa.column("outputs", sa.Text),
        *(sa.column(name, sa.String) for name in _ANSWERS),
    )
    last = ""
    while True:
        rows = connection.execute(
            sa.select(records.c.triage_id, records.c.outputs)
            .where(records.c.triage_id > last)
            .order_by(records.c.triage_id)
            .limit(_BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        for triage_id, outputs in rows:
            connection.execute(
                records.update()
                .where(records.c.triage_id == triage_id)
                .values(**_answers_of(outputs))
            )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table("user_segments")
    op.drop_index("ix_alerts_group_end", table_name="complaint_alerts")
    op.drop_table("complaint_alerts")
    op.drop_index("ix_resolutions_triage", table_name="resolutions")
    op.drop_table("resolutions")
    op.drop_index("ix_triage_occurred", table_name="triage_records")
    op.drop_index("ix_triage_created", table_name="triage_records")
    for name in reversed(_ANSWERS):
        op.drop_column("triage_records", name)
    op.drop_column("triage_records", "occurred_at")
