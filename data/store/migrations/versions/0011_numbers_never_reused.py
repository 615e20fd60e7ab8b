"""Numbers never reused on SQLite: events, corrections and resolutions get AUTOINCREMENT.

Readers follow these logs by `seq` (a model records the last event it was trained on, every
service worker the last resolution and correction its knowledge base read), so a number must
never come back. SQLite's plain integer key hands out max(seq) + 1: once erasures and retention
(0010) delete the newest rows, the next row took a number already read, and was skipped by
every reader past it (a new event left out of feeds as if the model held it, a new resolution
never in the knowledge base). AUTOINCREMENT keeps the highest number ever used. SQLite cannot
add it to a table, so each table is rebuilt once: its own CREATE statement with the key
changed, its rows copied with their numbers, its indexes (partial ones included) re-created
from their own statements. PostgreSQL's sequences never hand a number out twice: nothing to do.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy import Connection, text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("events", "corrections", "resolutions")
_PLAIN_KEY = "seq INTEGER NOT NULL, "
_AUTOINCREMENT_KEY = "seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
_KEY_CLAUSE = re.compile(r"\s*PRIMARY KEY \(seq\),")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table in TABLES:
        _rebuild_with_autoincrement(bind, table)


def downgrade() -> None:
    # Numbers that are never reused harm no older revision: the tables stay as they are.
    pass


def _rebuild_with_autoincrement(bind: Connection, table: str) -> None:
    create = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one()
    if "AUTOINCREMENT" in create.upper():
        return
    if _PLAIN_KEY not in create or not _KEY_CLAUSE.search(create):
        raise RuntimeError(f"table {table} is not as the earlier migrations made it: {create}")
    rebuilt = _KEY_CLAUSE.sub("", create.replace(_PLAIN_KEY, _AUTOINCREMENT_KEY, 1), count=1)
    rebuilt = re.sub(rf'^CREATE TABLE "?{table}"?', f"CREATE TABLE {table}__rebuilt", rebuilt)
    indexes = bind.execute(
        text(
            "SELECT sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
        ),
        {"t": table},
    ).scalars()
    index_statements = list(indexes)
    bind.execute(text(rebuilt))
    bind.execute(text(f"INSERT INTO {table}__rebuilt SELECT * FROM {table}"))
    bind.execute(text(f"DROP TABLE {table}"))
    bind.execute(text(f"ALTER TABLE {table}__rebuilt RENAME TO {table}"))
    for statement in index_statements:
        bind.execute(text(statement))
