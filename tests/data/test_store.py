"""The durable store: an idempotent event log, triage records, complaints and corrections.

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
from data.events import EVENT_COLUMNS, EVENT_SEQ
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
    first = store.events.add([_event(1), _event(2)])
    retry = store.events.add([_event(2), _event(3)])
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (retry.inserted, retry.duplicates) == (1, 1)
    assert store.events.count() == 3
    frame = store.events.frame("u1")
    assert list(frame.columns) == EVENT_COLUMNS
    assert frame[S.ITEM_ID].tolist() == ["i1", "i2", "i3"]
    assert frame[EVENT_SEQ].is_monotonic_increasing and frame[EVENT_SEQ].is_unique


def test_invalid_events_are_refused_naming_the_field(store: Store) -> None:
    with pytest.raises(StoreError, match="event type 'teleport'"):
        store.events.add([Event("e1", "u", "i", "teleport", 0)])
    with pytest.raises(StoreError, match="user_id"):
        store.events.add([Event("e1", " ", "i", "view", 0)])
    with pytest.raises(StoreError, match="repeats an event_id"):
        store.events.add([_event(1), _event(1)])
    assert store.events.count() == 0  # nothing of a refused batch is written
    assert store.events.frame().empty and list(store.events.frame().columns) == EVENT_COLUMNS


def test_a_users_events_and_triaged_complaint_items_are_returned_as_stored(
    store: Store,
) -> None:
    store.events.add(
        [_event(1, item="a"), _event(2, item="b"), _event(3, item="b", kind="complaint")]
    )
    store.events.add([_event(4, user="u2", item="a")])
    mine = store.events.frame("u1")
    assert mine[[S.ITEM_ID, "type"]].values.tolist() == [
        ["a", "view"],
        ["b", "view"],
        ["b", "complaint"],
    ]
    assert store.events.frame("u2")[S.ITEM_ID].tolist() == ["a"]
    store.triage.record(
        "the movie c was offensive", {"is_complaint": True}, {}, "en", True, "u1", "c"
    )
    store.triage.record("love film d", {"is_complaint": False}, {}, "en", False, "u1", "d")
    assert store.triage.complained_items("u1") == {"c"}
    assert store.triage.complained_items("someone-else") == set()


def test_triage_text_is_redacted_and_corrections_are_idempotent(store: Store) -> None:
    triage_id = store.triage.record(
        "email me: jo@example.com, card 4111 1111 1111 1111",
        {"evidence": ["jo@example.com"], "sentiment": {"probability": 0.87654321}},
        {"sentiment": "3"},
        "en",
        True,
        customer_id="c1",
    )
    assert store.triage.prior_contacts("c1") == 1
    triage = store.triage
    cid, inserted = triage.add_correction(triage_id, "sentiment", "neutral", "agent-7", "fix-1")
    again = triage.add_correction(triage_id, "sentiment", "neutral", "agent-7", "fix-1")
    assert inserted and again == (cid, False)
    triage.add_correction(triage_id, "sentiment", "negative", "agent-8")
    frame = triage.corrected_texts("sentiment")
    assert frame[S.LABEL].tolist() == ["negative"]  # the latest correction wins
    stored_text = frame[S.TEXT].iloc[0]
    assert "jo@example.com" not in stored_text and "4111" not in stored_text
    with pytest.raises(StoreError, match="unknown triage_id"):
        triage.add_correction("nope", "sentiment", "neutral", "a")
