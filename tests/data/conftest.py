"""Store fixtures: every store test runs on SQLite, and on PostgreSQL too when
AGORA_TEST_POSTGRES_URL is set (.ci/run starts a PostgreSQL server and sets it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from data.store import Store

POSTGRES_ENV = "AGORA_TEST_POSTGRES_URL"


def _postgres_url() -> Iterator[str]:
    """A URL on a fresh schema of the test server (dropped afterwards)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server for this run")
    schema = f"t{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a store not yet opened (no file, no tables)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'store.db'}"
    else:
        yield from _postgres_url()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    try:
        yield store
    finally:
        store.engine.dispose()
