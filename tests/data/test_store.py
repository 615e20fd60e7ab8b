"""The durable store: idempotent events, complaints, triage records and corrections.

Runs against SQLite always, and against PostgreSQL too when AGORA_TEST_POSTGRES_URL is set
(.ci/run starts a PostgreSQL server and sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from data import schemas as S
from data.store import Event, Store, StoreError

POSTGRES_ENV = "AGORA_TEST_POSTGRES_URL"


def _postgres_store() -> Iterator[Store]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server for this run")
    schema = f"t{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    store = Store(f"{url}?options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        yield Store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        yield from _postgres_store()


def _event(n: int, user: str = "u1", item: str | None = None, kind: str = "view") -> Event:
    return Event(f"e{n}", user, item or f"i{n}", kind, 1_700_000_000 + n)


def test_retried_batches_insert_each_event_once(store: Store) -> None:
    first = store.add_events([_event(1), _event(2)])
    retry = store.add_events([_event(2), _event(3)])
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (retry.inserted, retry.duplicates) == (1, 1)
    assert store.count_events() == 3
    frame = store.events_frame("u1")
    assert frame[S.ITEM_ID].tolist() == ["i1", "i2", "i3"]


def test_invalid_events_are_refused_naming_the_field(store: Store) -> None:
    with pytest.raises(StoreError, match="event type 'teleport'"):
        store.add_events([Event("e1", "u", "i", "teleport", 0)])
    with pytest.raises(StoreError, match="user_id"):
        store.add_events([Event("e1", " ", "i", "view", 0)])
    with pytest.raises(StoreError, match="repeats an event_id"):
        store.add_events([_event(1), _event(1)])
    assert store.count_events() == 0  # nothing of a refused batch is written


def test_history_excludes_negative_events_and_complaints_block_items(store: Store) -> None:
    store.add_events(
        [_event(1, item="a"), _event(2, item="b"), _event(3, item="b", kind="complaint")]
    )
    assert store.user_history("u1") == ["a", "b"]
    assert store.blocked_items("u1") == {"b"}
    store.record_triage(
        "the movie c was offensive", {"is_complaint": True}, {}, "en", True, "u1", "c"
    )
    assert store.blocked_items("u1") == {"b", "c"}
    assert store.blocked_items("someone-else") == set()


def test_triage_text_is_redacted_and_corrections_are_idempotent(store: Store) -> None:
    triage_id = store.record_triage(
        "email me: jo@example.com, card 4111 1111 1111 1111",
        {"evidence": ["jo@example.com"], "sentiment": {"probability": 0.87654321}},
        {"sentiment": "3"},
        "en",
        True,
        customer_id="c1",
    )
    assert store.prior_contacts("c1") == 1
    cid, inserted = store.add_correction(triage_id, "sentiment", "neutral", "agent-7", "fix-1")
    again = store.add_correction(triage_id, "sentiment", "neutral", "agent-7", "fix-1")
    assert inserted and again == (cid, False)
    store.add_correction(triage_id, "sentiment", "negative", "agent-8")
    frame = store.corrected_texts("sentiment")
    assert frame[S.LABEL].tolist() == ["negative"]  # the latest correction wins
    stored_text = frame[S.TEXT].iloc[0]
    assert "jo@example.com" not in stored_text and "4111" not in stored_text
    with pytest.raises(StoreError, match="unknown triage_id"):
        store.add_correction("nope", "sentiment", "neutral", "a")
