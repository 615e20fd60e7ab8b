"""Opening the store's database: the URL, SQLite's durability settings, idempotent inserts.

SQLite by default (a file under AGORA_HOME), PostgreSQL by URL (`AGORA_STORE_URL`).
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite

from data.paths import agora_home
from data.store.tables import metadata

STORE_URL_ENV = "AGORA_STORE_URL"


class StoreError(ValueError):
    """Input the store refuses; the message names the field and value."""


def default_store_url() -> str:
    return os.environ.get(STORE_URL_ENV) or f"sqlite:///{agora_home() / 'agora-store.db'}"


def _sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; synchronous=FULL makes each commit durable
    # across power loss, which is what "acknowledged only after the write is durable" needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def open_engine(url: str) -> Engine:
    """An engine on `url` with the store's tables created (and SQLite made durable)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # A server database can drop idle connections; a SQLite file cannot, so skip the ping.
    ping = not url.startswith("sqlite")
    engine = create_engine(url, pool_pre_ping=ping)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_durability)
    metadata.create_all(engine)
    return engine


def insert_into(engine: Engine, table: Table) -> Any:
    """The dialect's INSERT (it has ON CONFLICT DO NOTHING, which makes retries idempotent)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
