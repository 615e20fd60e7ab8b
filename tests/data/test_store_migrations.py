"""The store's schema: Alembic migrations run once, never raced; old stores stamped; files private.

Runs against SQLite always, and against PostgreSQL too when AGORA_TEST_POSTGRES_URL is set
(fixtures in tests/data/conftest.py).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, make_url, text

from data.events import Event
from data.store import Store, StoreConflictError, StoreError, migrate
from data.store.tables import metadata

STARTERS = 6  # processes opening one fresh store at once (two service workers raced before)


def _bare_engine(url: str) -> Engine:
    """An engine on the store's database without the store (its folder made for SQLite)."""
    database = make_url(url).database
    if url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)


def _open_store(url: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait(timeout=30)
    store = Store(url)
    store.events.add([Event(f"e-{multiprocessing.current_process().pid}", "u", "i", "view", 0)])
    store.engine.dispose()


def test_processes_opening_a_fresh_store_at_once_all_succeed(store_url: str) -> None:
    """Regression: two workers on a fresh SQLite store raced on table creation
    ("table events already exists", 15 of 15 trials)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(STARTERS)
    starters = [
        context.Process(target=_open_store, args=(store_url, barrier)) for _ in range(STARTERS)
    ]
    for process in starters:
        process.start()
    for process in starters:
        process.join(timeout=60)
    assert [p.exitcode for p in starters] == [0] * STARTERS
    store = Store(store_url)
    assert store.events.count() == STARTERS
    with store.engine.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision()
    store.engine.dispose()


def test_the_migrated_schema_is_the_schema_the_code_uses(store: Store) -> None:
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_a_store_at_head_is_not_migrated_again(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(store_url).engine.dispose()

    def refuse(*_args: object) -> None:
        raise AssertionError("a store at head was upgraded again")

    monkeypatch.setattr(migrate.command, "upgrade", refuse)
    monkeypatch.setattr(migrate.command, "stamp", refuse)
    Store(store_url).engine.dispose()


def test_a_store_made_before_migrations_is_stamped_and_upgraded_keeping_its_data(
    store_url: str,
) -> None:
    engine = _bare_engine(store_url)
    migrate.upgrade(engine, migrate.INITIAL_REVISION)  # the tables create_all used to make
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO events (event_id, user_id, item_id, type, timestamp, weight,"
                " received_at) VALUES ('old', 'u', 'i', 'view', 1, 1.0, 1.0)"
            )
        )
    engine.dispose()
    store = Store(store_url)
    assert [e.event_id for e in store.events.read()] == ["old"]
    columns = {c["name"] for c in inspect(store.engine).get_columns("triage_records")}
    assert "idempotency_key" in columns
    with store.engine.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision()
    store.engine.dispose()


def test_a_database_holding_only_some_of_the_tables_is_refused(store_url: str) -> None:
    engine = _bare_engine(store_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (seq INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(migrate.MigrationError, match="only some of its tables"):
        Store(store_url)


def test_a_sqlite_store_and_its_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    store = Store(f"sqlite:///{folder / 'store.db'}")
    store.events.add([Event("e1", "u", "i", "view", 0)])
    with store.engine.connect():  # an open connection keeps the -wal and -shm files
        files = sorted(folder.iterdir())
        names = [f.name for f in files]
        assert names == ["store.db", "store.db-shm", "store.db-wal", "store.db.migrate-lock"]
        assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    store.engine.dispose()


def test_triage_records_made_before_answer_columns_get_them_from_their_outputs(
    store_url: str,
) -> None:
    engine = _bare_engine(store_url)
    migrate.upgrade(engine, "0002")
    outputs = (
        '{"sentiment": {"label": "negative"}, "reason": {"label": "Late Flight"},'
        ' "routing": {"queue": "operations"}, "urgency": {"level": "high"}}'
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO triage_records (triage_id, redacted_text, language, is_complaint,"
                " outputs, model_versions, created_at) VALUES"
                " ('t1', 'late again', 'en', true, :outputs, '{}', 5.0),"
                " ('t2', 'broken', 'en', false, 'not json', '{}', 6.0)"
            ),
            {"outputs": outputs},
        )
    engine.dispose()
    store = Store(store_url)
    with store.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT triage_id, sentiment, reason, category, queue, urgency, occurred_at"
                " FROM triage_records ORDER BY triage_id"
            )
        ).all()
    store.engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("t1", "negative", "Late Flight", None, "operations", "high", None),
        ("t2", None, None, None, None, None, None),
    ]


def test_a_read_only_open_refuses_a_url_without_a_store_and_creates_nothing(
    store_url: str,
) -> None:
    """Regression: a mistyped --store-url made a new, empty store that read as "no data"."""
    with pytest.raises(StoreError, match="no store"):
        Store(store_url, must_exist=True)
    if store_url.startswith("sqlite"):
        assert not Path(store_url.removeprefix("sqlite:///")).parent.exists()
    Store(store_url).engine.dispose()  # the service makes it
    opened = Store(store_url, must_exist=True)
    assert opened.triage.complained_items("nobody") == set()
    opened.engine.dispose()


def test_resolutions_made_before_ordinals_are_numbered_in_their_order(store_url: str) -> None:
    """A store may hold a case resolved twice (before one resolution per case was enforced):
    the upgrade numbers each case's resolutions in `seq` order, so the latest stays the latest
    and the case is resolved again only by replacing it."""
    engine = _bare_engine(store_url)
    migrate.upgrade(engine, "0005")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO triage_records (triage_id, redacted_text, language, is_complaint,"
                " outputs, model_versions, created_at) VALUES"
                " ('t1', 'late', 'en', true, '{}', '{}', 1.0),"
                " ('t2', 'lost', 'en', true, '{}', '{}', 2.0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO resolutions (resolution_id, triage_id, redacted_resolution, outcome,"
                " agent, created_at) VALUES ('r1', 't1', 'a', 'resolved', 'ana', 3.0),"
                " ('r2', 't2', 'b', 'resolved', 'bo', 4.0),"
                " ('r3', 't1', 'c', 'resolved', 'bo', 5.0)"
            )
        )
    engine.dispose()
    store = Store(store_url)
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT resolution_id, ordinal FROM resolutions ORDER BY seq")
        ).all()
    assert [tuple(row) for row in rows] == [("r1", 1), ("r2", 1), ("r3", 2)]
    with pytest.raises(StoreConflictError, match="already resolved: bo recorded it"):
        store.resolutions.add("t1", "mine", "resolved", "cy")
    assert store.resolutions.add("t1", "mine", "resolved", "cy", "r4", replaces="r3") == (
        "r4",
        True,
    )
    store.engine.dispose()


def test_numbers_of_erased_rows_are_never_handed_out_again(store_url: str) -> None:
    """SQLite gave the next row max(seq) + 1: once an erasure deleted the newest events, a new
    event took a number a model had already read, and feeds skipped it. A store made before
    0011 keeps its rows, numbers and indexes through the upgrade."""
    engine = _bare_engine(store_url)
    migrate.upgrade(engine, "0010")
    before = inspect(engine)
    indexes = {t: {i["name"] for i in before.get_indexes(t)} for t in ("events", "corrections")}
    engine.dispose()
    store = Store(store_url)  # upgrades to head
    store.events.add([Event(f"e{i}", "u1" if i < 2 else "u2", "i", "view", i) for i in range(4)])
    assert {t: {i["name"] for i in inspect(store.engine).get_indexes(t)} for t in indexes} == (
        indexes
    )
    store.erasures.erase_user("u2", "dpo")  # the two newest events
    store.events.add([Event("e-new", "u3", "i", "view", 9)])
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT user_id, seq FROM events ORDER BY seq")).all()
    assert [tuple(row) for row in rows] == [("u1", 1), ("u1", 2), ("u3", 5)]
    store.engine.dispose()


def test_the_rebuild_keeps_rows_and_their_numbers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = _bare_engine(url)
    migrate.upgrade(engine, "0010")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO events (seq, event_id, user_id, item_id, type, timestamp, weight,"
                " received_at) VALUES (3, 'a', 'u', 'i', 'view', 1, 1.0, 1.0),"
                " (8, 'b', 'u', 'j', 'like', 2, 1.0, 2.0)"
            )
        )
    engine.dispose()
    store = Store(url)
    store.events.add([Event("c", "u", "k", "view", 3)])
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT event_id, seq FROM events ORDER BY seq")).all()
    assert [tuple(row) for row in rows] == [("a", 3), ("b", 8), ("c", 9)]
    store.engine.dispose()
