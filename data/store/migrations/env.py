"""Alembic's entry point for the store: migrate the connection `data.store.migrate` passes in.

Only the programmatic, online mode is supported: the runner opens the connection, takes the
migration lock and a transaction, and puts the connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context

from data.store.tables import metadata

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError("the store's migrations run through data.store.migrate.upgrade only")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
