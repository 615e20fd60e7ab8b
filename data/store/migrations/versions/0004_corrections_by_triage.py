"""Corrections indexed by triage record and field: a feed reads whether an agent corrected each
of its user's complaints (a complaint corrected to "not a complaint" no longer blocks its item).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_corrections_triage_field", "corrections", ["triage_id", "field", "seq"])


def downgrade() -> None:
    op.drop_index("ix_corrections_triage_field", table_name="corrections")
