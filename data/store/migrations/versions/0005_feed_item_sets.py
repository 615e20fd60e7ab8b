"""Indexes for a feed's item sets (`data.events.UserItems`), read however old the events are.

- events (user_id, type, item_id, seq) replaces (user_id, type): the distinct items a user
  complained about or disliked, one seek each, and each disliked item's latest dislike.
- events (user_id, item_id), only rows with value: the items a user has seen.
- events (user_id, item_id, seq), only rows worth a like: each disliked item's latest event that
  would lift the dislike.

The predicates are literal (a revision is history); `data.store.tables` builds the same text
from `data.events`, and the queries repeat it word for word (SQLite uses a partial index only
then). `tests/data/test_store_migrations.py` checks that the two spell it alike.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_VALUE = (
    "CASE type WHEN 'view' THEN 2.0 * weight WHEN 'click' THEN 3.0 * weight "
    "WHEN 'like' THEN 4.0 * weight WHEN 'share' THEN 4.0 * weight "
    "WHEN 'purchase' THEN 5.0 * weight WHEN 'rating' THEN weight ELSE 0.0 END"
)
VALUED = f"{_VALUE} > 0.0"
LIFTS_DISLIKE = f"{_VALUE} >= 4.0"


def _partial(where: str) -> dict[str, sa.TextClause]:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def upgrade() -> None:
    op.create_index("ix_events_user_type_item", "events", ["user_id", "type", "item_id", "seq"])
    op.drop_index("ix_events_user_type", table_name="events")
    op.create_index(
        "ix_events_user_item_valued", "events", ["user_id", "item_id"], **_partial(VALUED)
    )
    op.create_index(
        "ix_events_user_item_lifting",
        "events",
        ["user_id", "item_id", "seq"],
        **_partial(LIFTS_DISLIKE),
    )


def downgrade() -> None:
    op.drop_index("ix_events_user_item_lifting", table_name="events")
    op.drop_index("ix_events_user_item_valued", table_name="events")
    op.create_index("ix_events_user_type", "events", ["user_id", "type"])
    op.drop_index("ix_events_user_type_item", table_name="events")
