"""What a feed reads of one user: their newest events, and item sets however old the events.

Runs against SQLite always, and against PostgreSQL too when AGORA_TEST_POSTGRES_URL is set
(fixtures in tests/data/conftest.py).
"""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import text

from data.events import EVENT_TYPES, Event, UserItems, user_items
from data.store import Store
from data.store.tables import LIFTS_DISLIKE_SQL, VALUED_EVENT_SQL

MOVIELENS_ITEMS = 1_682


def _events(user: str, rows: list[tuple[str, str, float]], first: int = 0) -> list[Event]:
    """Events of `user` from (type, item, weight) rows, in log order."""
    return [
        Event(f"{user}-{n}", user, item, kind, 1_700_000_000 + n, weight)
        for n, (kind, item, weight) in enumerate(rows, start=first)
    ]


def _add(store: Store, batch: list[Event]) -> None:
    for start in range(0, len(batch), 1_000):
        store.events.add(batch[start : start + 1_000])


def test_a_feed_reads_the_newest_events_and_every_older_complaint(store: Store) -> None:
    _add(store, _events("u1", [("complaint", "old", 1.0)]))
    _add(store, _events("u1", [("view", f"i{n}", 1.0) for n in range(1, 40)], first=1))
    read = store.events.feed_events("u1", limit=5)
    assert [e.event_id for e in read] == [f"u1-{n}" for n in range(35, 40)]
    assert [e.seq for e in read] == sorted(e.seq for e in read)  # oldest first
    assert store.events.user_items("u1").complained == {"old"}
    assert store.events.feed_events("nobody") == []
    assert store.events.user_items("nobody") == UserItems()
    assert len(store.events.read("u1")) == 40  # a retrain still reads everything


def test_every_item_a_user_viewed_is_seen_however_many_events_they_have(store: Store) -> None:
    """Regression: a user who viewed all 1,682 MovieLens items got their oldest views back in
    the feed: seen items were only those of their newest 500 events."""
    items = [str(n) for n in range(1, MOVIELENS_ITEMS + 1)]
    _add(store, _events("h3", [("view", item, 1.0) for item in items]))
    assert store.events.user_items("h3").seen == frozenset(items)
    assert len(store.events.feed_events("h3")) == 500  # the history folded in stays bounded


def test_every_item_a_user_complained_about_is_read(store: Store) -> None:
    """Regression: only a user's newest 1,000 complaints blocked their items, so the oldest
    of 1,200 complained-about items came back."""
    items = [str(n) for n in range(1, 1_201)]
    _add(store, _events("c1", [("complaint", item, 1.0) for item in items]))
    assert store.events.user_items("c1").complained == frozenset(items)


def test_a_set_past_its_rows_is_completed_by_seeks_and_stops_at_its_cap(store: Store) -> None:
    # 60 views of 3 items, read 5 rows at a time: the rows say "a" only, the seeks find b, c.
    _add(store, _events("u1", [("view", item, 1.0) for item in "abc" for _ in range(20)]))
    assert store.events.user_items("u1", limit=5).seen == {"a", "b", "c"}
    assert store.events.user_items("u1", limit=2).seen == {"a", "b"}  # the cap, in id order
    _add(store, _events("u2", [("complaint", "x", 1.0)] * 4 + [("complaint", "y", 1.0)], 100))
    assert store.events.user_items("u2", limit=3).complained == {"x", "y"}


def test_the_store_reads_the_same_item_sets_as_the_rules_say(store: Store) -> None:
    """The SQL of `EventLog.user_items` against `data.events.user_items` on random histories:
    weight-0 and low-value events, ratings, dislikes lifted or not, complaints, other users."""
    rng = random.Random(7)
    weights = [0.0, 0.5, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    histories = {
        f"r{user}": [
            (rng.choice(EVENT_TYPES), f"i{rng.randrange(12)}", rng.choice(weights))
            for _ in range(rng.randrange(1, 60))
        ]
        for user in range(25)
    }
    batch = []
    for user, rows in histories.items():
        batch += _events(user, rows)
    rng.shuffle(batch)  # users' events interleave in the log; each user's order is kept
    by_user: dict[str, list[Event]] = {}
    for event in sorted(batch, key=lambda e: int(e.event_id.split("-")[1])):
        by_user.setdefault(event.user_id, []).append(event)
    for user in histories:
        _add(store, by_user[user])
    for user in histories:
        assert store.events.user_items(user) == user_items(by_user[user]), user


def test_a_dislike_is_lifted_by_a_later_like_whatever_order_they_arrive_in(store: Store) -> None:
    """Regression: a dislike was weighed against likes by arrival order, not time: a like sent
    late by an offline client, older than the dislike, lifted it, and a like that came before
    a late dislike of the same item an hour older did not."""
    t = 1_700_000_000
    arrivals = [
        Event("a1", "u1", "x", "dislike", t),  # then an older like arrives: x stays disliked
        Event("a2", "u1", "x", "like", t - 3_600),
        Event("a3", "u1", "y", "like", t),  # then an older dislike arrives: y is liked
        Event("a4", "u1", "y", "dislike", t - 3_600),
        Event("a5", "u1", "z", "like", t),  # the same second: the log's order decides
        Event("a6", "u1", "z", "dislike", t),
    ]
    _add(store, arrivals)
    assert user_items(arrivals).disliked == {"x", "z"}
    assert store.events.user_items("u1").disliked == {"x", "z"}


def test_item_sets_are_read_from_their_indexes(tmp_path: Path) -> None:
    """SQLite uses a partial index only for a query repeating its predicate word for word: the
    migration's index text and the queries must agree, or every read scans the user's rows."""
    store = Store(f"sqlite:///{tmp_path}/plan.db")
    with store.engine.connect() as connection:
        query = text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        created = {name: sql for name, sql in connection.execute(query)}
        assert VALUED_EVENT_SQL in created["ix_events_user_item_valued"]
        assert LIFTS_DISLIKE_SQL in created["ix_events_user_item_lifting"]
        log = store.events
        bound = {"user_id": "u", "limit": 10, "after": ""}
        reads = [log._seen._rows, log._seen._after, log._disliked]
        plans = [
            " ".join(row[3] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {q}"), bound))
            for q in reads
        ]
    assert "ix_events_user_item_valued" in plans[0] and "ix_events_user_item_valued" in plans[1]
    assert "ix_events_user_item_lifting" in plans[2] and "ix_events_user_type_item" in plans[2]
    assert not any("SCAN events" in plan for plan in plans), plans
    store.engine.dispose()
