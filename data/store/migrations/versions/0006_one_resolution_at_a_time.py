"""Resolutions numbered within their case: two agents cannot both add a case's next resolution.

resolutions gains `ordinal` (1 for a case's first resolution, 2 for the next, ...), backfilled in
`seq` order, with a unique index on (triage_id, ordinal) that replaces the plain index on
triage_id. A resolution is written as its case's next ordinal (`data.store.resolutions`), so of
two written at once (two agents resolving one case) the database keeps one and refuses the other.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("resolutions", sa.Column("ordinal", sa.Integer, nullable=True))
    # A store may already hold a case resolved twice (the defect this revision closes): each
    # keeps its place in `seq` order, so the latest stays the latest.
    op.execute(
        "UPDATE resolutions SET ordinal = (SELECT count(*) FROM resolutions AS earlier"
        " WHERE earlier.triage_id = resolutions.triage_id AND earlier.seq <= resolutions.seq)"
    )
    with op.batch_alter_table("resolutions") as batch:
        batch.alter_column("ordinal", existing_type=sa.Integer, nullable=False)
        batch.drop_index("ix_resolutions_triage")
        batch.create_index("ux_resolutions_triage_ordinal", ["triage_id", "ordinal"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("resolutions") as batch:
        batch.drop_index("ux_resolutions_triage_ordinal")
        batch.create_index("ix_resolutions_triage", ["triage_id"])
        batch.drop_column("ordinal")
