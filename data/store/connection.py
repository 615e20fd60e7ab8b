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
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)

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


class StoreUnavailableError(RuntimeError):
    """The store's database cannot be used right now (unreachable, restarting, out of space).

    Not the request's fault and not for good: the service answers 503 and a retry later
    succeeds (the engine's pool reconnects once the database is back)."""


# The database's failures, as SQLAlchemy raises them, that say nothing about the request:
# the server is down or restarting (OperationalError), a pooled connection was cut
# (InterfaceError, or any DBAPIError flagged connection_invalidated).
def is_store_outage(error: BaseException) -> bool:
    """True when `error` is the store's database failing, not a refused request."""
    if isinstance(error, StoreUnavailableError | OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def default_store_url() -> str:
    return os.environ.get(STORE_URL_ENV) or f"sqlite:///{agora_home() / 'agora-store.db'}"


def open_engine(url: str, must_exist: bool = False) -> Engine:
    """An engine on `url`, its schema at the newest migration (and SQLite made durable).

    `must_exist` (commands that only read the store): StoreError when `url` holds no store
    yet, instead of creating an empty one, where a mistyped path would read as "no data"."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise StoreError(f"the store URL is not a URL: {_SUPPORTED}") from None
    if backend not in ("sqlite", "postgresql"):
        # Another database has no migration lock here and was never tested: refused, not tried
        # (`mysql://...` failed in every worker with the driver's ModuleNotFoundError).
        raise StoreError(f"the store URL {_masked(url)} names {backend!r}: {_SUPPORTED}")
    server = backend == "postgresql"
    try:
        engine = create_engine(
            url,
            # A server database can drop idle connections; a SQLite file cannot: no ping.
            pool_pre_ping=server,
            # A store error is logged with its traceback; SQLAlchemy's message would carry the
            # statement's parameters: a customer's message, ids, an agent's note.
            hide_parameters=True,
            # A store that does not answer (a host down, a firewall dropping packets) fails a
            # request in seconds instead of the operating system's two-minute TCP timeout.
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
            if server and "connect_timeout" not in url
            else {},
        )
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise StoreError(
            f"the store URL {_masked(url)} is not one SQLAlchemy can open: {_SUPPORTED} "
            f"({type(error).__name__}: {error})"
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


_SUPPORTED = "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
CONNECT_TIMEOUT_S = 5

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
