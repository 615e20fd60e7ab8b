"""Published items: items a platform added after the recommender was trained.

One row per publication or edit of an item, never updated; an item's description is its row
with the highest `seq` (index item_id, seq). Each service worker follows the table by `seq`
and embeds the new items' text with the served content encoder.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_items",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(256), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("genres", sa.String(1400), nullable=False),
        sa.Column("published_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_published_items_item_seq", "published_items", ["item_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_published_items_item_seq", table_name="published_items")
    op.drop_table("published_items")
