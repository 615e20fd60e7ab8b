"""Item retirements: items taken out of (and put back into) the served catalog without retraining.

One row per change, never updated: `retired` true takes the item out of every feed and similar
items list, false puts it back. An item's state is its row with the highest `seq`; the index
(item_id, seq) finds it with one seek. Each service worker follows the table by `seq`
(`data.store.follow`), so a change reaches every worker of every replica within its poll.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_retirements",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("retired", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("changed_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_item_retirements_item_seq", "item_retirements", ["item_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_item_retirements_item_seq", table_name="item_retirements")
    op.drop_table("item_retirements")
