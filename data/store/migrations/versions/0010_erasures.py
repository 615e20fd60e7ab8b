"""Erasures: an audit row per customer erasure or retention run, and the erased cases.

`erasures` records who asked, when, how many rows of each table went and the SHA-256 of the
customer's id (never the id itself), and the events log's highest number at that moment
(a model trained from the log beyond it was trained without the customer). `erased_cases`
lists the triage ids of erased records that had a resolution: each service worker follows it
by `seq` and drops those cases from its in-memory knowledge base.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("subject_sha256", sa.String(64), nullable=True),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("parameters", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("events_seq", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_erasures_subject", "erasures", ["subject_sha256"])
    op.create_table(
        "erased_cases",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("triage_id", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erased_cases")
    op.drop_index("ix_erasures_subject", table_name="erasures")
    op.drop_table("erasures")
