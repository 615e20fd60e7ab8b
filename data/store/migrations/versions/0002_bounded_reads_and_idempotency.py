"""Indexes for a feed's bounded reads, and an idempotency key for recorded triages.

- events: (user_id, seq) answers "a user's newest n events" from the index on PostgreSQL too
  (replacing the index on user_id alone); (user_id, type) finds a user's blocking events.
- triage_records.idempotency_key (unique, NULL for unkeyed records): a retried /triage finds
  its first record instead of adding a contact.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_user_seq", "events", ["user_id", "seq"])
    op.create_index("ix_events_user_type", "events", ["user_id", "type"])
    op.drop_index("ix_events_user", table_name="events")
    op.add_column("triage_records", sa.Column("idempotency_key", sa.String(128), nullable=True))
    op.create_index("ux_triage_idempotency_key", "triage_records", ["idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_triage_idempotency_key", table_name="triage_records")
    op.drop_column("triage_records", "idempotency_key")
    op.create_index("ix_events_user", "events", ["user_id"])
    op.drop_index("ix_events_user_type", table_name="events")
    op.drop_index("ix_events_user_seq", table_name="events")
