"""A fresh PostgreSQL schema for a test, when AGORA_TEST_POSTGRES_URL names a server.

`.ci/run` starts a throwaway server and sets the variable; without it PostgreSQL variants skip
with that reason (the SQLite variants still run).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

POSTGRES_ENV = "AGORA_TEST_POSTGRES_URL"


def postgres_url() -> Iterator[str]:
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
