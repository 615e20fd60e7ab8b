"""The store's first schema: the tables the store created before it had migrations.

A store made then (tables present, no alembic_version) is stamped with this revision, not
re-created. Sizes are literal: a revision is history and must not move with today's constants.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_events_user", "events", ["user_id"])
    op.create_table(
        "triage_records",
        sa.Column("triage_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(256), nullable=True),
        sa.Column("item_id", sa.String(256), nullable=True),
        sa.Column("redacted_text", sa.Text, nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("is_complaint", sa.Boolean, nullable=False),
        sa.Column("outputs", sa.Text, nullable=False),
        sa.Column("model_versions", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_triage_customer", "triage_records", ["customer_id"])
    op.create_table(
        "corrections",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("correction_id", sa.String(64), nullable=False),
        sa.Column(
            "triage_id",
            sa.String(64),
            sa.ForeignKey("triage_records.triage_id"),
            nullable=False,
        ),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("correct_label", sa.String(256), nullable=False),
        sa.Column("agent", sa.String(256), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("correction_id"),
    )


def downgrade() -> None:
    op.drop_table("corrections")
    op.drop_table("triage_records")
    op.drop_table("events")
