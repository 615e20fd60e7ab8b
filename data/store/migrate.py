"""Bring a store's schema to the newest migration: once, however many processes start at once.

Every process that opens the store (each service worker, a retrain, a test) calls `upgrade`.
Upgrades are serialized by a lock that concurrent starters wait on: on SQLite an `flock` on a
file beside the database (a transaction cannot guard the first connection, which creates the
file and switches it to WAL), on PostgreSQL `pg_advisory_xact_lock`. The check and the upgrade
run in one transaction under that lock, so the first starter migrates and the others find the
store at head and do nothing. A store made before migrations existed (its tables present, no
`alembic_version`) is stamped with the initial revision, then upgraded, never re-created.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

from data.locks import file_lock
from data.store.sqlite_files import sqlite_durability

logger = logging.getLogger(__name__)

MIGRATIONS: Final = Path(__file__).with_name("migrations")
INITIAL_REVISION: Final = "0001"
# The tables of the initial revision: a store holding all of them but no version was made
# before migrations (by `create_all`) and is stamped rather than created again.
INITIAL_TABLES: Final = frozenset({"events", "triage_records", "corrections"})
# One key for every Agora store on a PostgreSQL server: upgrades of different stores wait on
# each other, which costs nothing (an upgrade at head is one query) and needs no naming scheme.
PG_LOCK_KEY: Final = 0x4A60_5A7E
LOCK_SUFFIX: Final = ".migrate-lock"


class MigrationError(RuntimeError):
    """The database holds something the store's migrations cannot take over."""


def _config() -> Config:
    """A fresh Alembic config (one per run: it carries the run's connection)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head_revision() -> str:
    """The newest revision shipped with this version of Agora."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found in {MIGRATIONS}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return heads[0] if heads else None


def _upgrade_locked(connection: Connection, revision: str) -> None:
    """Check and upgrade inside the caller's transaction (the caller holds the lock)."""
    current = current_revision(connection)
    if current is None:
        present = INITIAL_TABLES & set(inspect(connection).get_table_names())
        if present == INITIAL_TABLES:
            logger.info("store made before migrations: stamping it %s", INITIAL_REVISION)
            _run(connection, command.stamp, INITIAL_REVISION)
            current = INITIAL_REVISION
        elif present:
            raise MigrationError(
                f"the store holds only some of its tables ({', '.join(sorted(present))}) and "
                "no migration version: it was not made by Agora, or its creation was cut short"
            )
    if revision == "head" and current == head_revision():
        return
    logger.info("upgrading the store's schema from %s to %s", current or "nothing", revision)
    _run(connection, command.upgrade, revision)


def _run(connection: Connection, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command (stamp, upgrade) on `connection`, in its open transaction."""
    config = _config()
    config.attributes["connection"] = connection  # env.py migrates this connection
    step(config, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store on `engine` to `revision` (tests use an older one), serialized across
    processes; does nothing on a store already there."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        _upgrade_sqlite(engine, revision)
    elif dialect == "postgresql":
        with engine.connect() as connection, connection.begin():
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            _upgrade_locked(connection, revision)
    else:  # no cross-process lock known for this database: single starters only
        logger.warning("no migration lock for %s: start one process first", dialect)
        with engine.connect() as connection, connection.begin():
            _upgrade_locked(connection, revision)


def _upgrade_sqlite(engine: Engine, revision: str) -> None:
    path = engine.url.database
    if not path or path == ":memory:":
        with engine.connect() as connection, connection.begin():
            _upgrade_locked(connection, revision)
        return
    with file_lock(Path(path + LOCK_SUFFIX)):
        # A separate engine whose transactions really begin before DDL (pysqlite otherwise
        # runs CREATE TABLE outside any transaction), so a cut-short upgrade leaves nothing.
        migrator = create_engine(engine.url, poolclass=NullPool)
        event.listen(migrator, "connect", _manual_transactions)
        event.listen(migrator, "connect", sqlite_durability)
        event.listen(migrator, "begin", _begin_immediate)
        try:
            with migrator.connect() as connection, connection.begin():
                _upgrade_locked(connection, revision)
        finally:
            migrator.dispose()


def _manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # pysqlite issues no BEGIN of its own


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
