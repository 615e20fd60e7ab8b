"""Opening the store's database: the URL, its schema brought to head, idempotent inserts.

SQLite by default (a file under AGORA_HOME, created owner-only), PostgreSQL by URL
(`AGORA_STORE_URL`). Opening runs the schema migrations (`data.store.migrate`), serialized
across the processes that start at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, inspect, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from data.paths import agora_home
from data.store.migrate import upgrade
from data.store.sqlite_files import create_private_file, sqlite_durability

STORE_URL_ENV = "AGORA_STORE_URL"


class StoreError(ValueError):
    """Input the store refuses; the message names the field and value."""


class StoreConflictError(StoreError):
    """An id the store holds was sent again with different content.

    A retry must repeat the original exactly; anything else is a client bug that silently
    counting it as a duplicate would hide. `ids` lists the conflicting ids.
    """

    def __init__(self, message: str, ids: list[str]) -> None:
        super().__init__(message)
        self.ids = ids


def default_store_url() -> str:
    return os.environ.get(STORE_URL_ENV) or f"sqlite:///{agora_home() / 'agora-store.db'}"


def open_engine(url: str, must_exist: bool = False) -> Engine:
    """An engine on `url`, its schema at the newest migration (and SQLite made durable).

    `must_exist` (commands that only read the store): StoreError when `url` holds no store
    yet, instead of creating an empty one, where a mistyped path would read as "no data"."""
    # A server database can drop idle connections; a SQLite file cannot, so skip the ping.
    try:
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    except (ArgumentError, NoSuchModuleError) as error:
        raise StoreError(
            f"the store URL {_masked(url)} is not one SQLAlchemy can open "
            f"(sqlite:///PATH or postgresql+psycopg://...): {error}"
        ) from None
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if path and path != ":memory:":
            if must_exist and not Path(path).is_file():
                raise StoreError(f"no store at {Path(path).absolute()}: {_NOT_CREATED}")
            create_private_file(Path(path).absolute())
        event.listen(engine, "connect", sqlite_durability)
    elif must_exist and not _holds_a_store(engine, url):
        raise StoreError(f"the database at {_masked(url)} holds no store: {_NOT_CREATED}")
    try:
        upgrade(engine)
    except OperationalError as error:
        raise _unreachable(url, error) from None
    return engine


_NOT_CREATED = (
    "a command that only reads the store does not create one; check --store-url or "
    f"{STORE_URL_ENV} (the service creates its store when it starts)"
)


def _holds_a_store(engine: Engine, url: str) -> bool:
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table("triage_records")
    except OperationalError as error:
        raise _unreachable(url, error) from None


def _unreachable(url: str, error: OperationalError) -> StoreError:
    """The database driver's first line, with the URL (password masked)."""
    first = str(error.orig or error).strip().splitlines()[0]
    return StoreError(f"cannot reach the store at {_masked(url)}: {first}")


def _masked(url: str) -> str:
    """`url` without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def insert_into(engine: Engine, table: Table) -> Any:
    """The dialect's INSERT (it has ON CONFLICT DO NOTHING, which makes retries idempotent)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
