"""Store fixtures: every store test runs on SQLite, and on PostgreSQL too when
AGORA_TEST_POSTGRES_URL is set (.ci/run starts a PostgreSQL server and sets it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from data.store import Store
from tests.postgres import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a store not yet opened (no file, no tables)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'store.db'}"
    else:
        yield from postgres_url()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    try:
        yield store
    finally:
        store.engine.dispose()
