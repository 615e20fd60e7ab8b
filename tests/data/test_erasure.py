"""Erasing one customer: every table's rows of theirs go in one transaction, nobody else's; a
second erasure finds nothing; the audit row keeps a hash, not the id; erased resolved cases are
listed for the knowledge base (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import event, func, select, text

from data.events import Event
from data.store import InvalidErasureError, SegmentRow, Store, UnknownTriageError, erasure
from data.store.erasure import ERASE_CHUNK, ERASED_TABLES, subject_digest
from data.store.tables import erasures, triage_records

OUTPUTS = {"reason": {"label": "late_flight"}, "routing": {"queue": "operations"}}


def _fill(store: Store, user: str, messages: int = 2) -> list[str]:
    """`user`'s events, segment, triage records; the first record corrected and resolved."""
    store.events.add([Event(f"{user}-e{i}", user, f"i{i}", "view", 100 + i) for i in range(3)])
    ids = [
        store.triage.record(f"late flight {i}", OUTPUTS, {}, "en", True, customer_id=user)
        for i in range(messages)
    ]
    store.triage.add_correction(ids[0], "reason", "lost_luggage", "ana")
    store.resolutions.add(ids[0], "rebooked", "resolved", "ana")
    return ids


def _segments(store: Store, *users: str) -> None:
    store.segments.replace("run-1", [SegmentRow(u, "core", "{}") for u in users])


def _rows(store: Store, table: str, column: str, value: str) -> int:
    query = text(f"SELECT count(*) FROM {table} WHERE {column} = :v")
    with store.engine.connect() as connection:
        return int(connection.execute(query, {"v": value}).scalar_one())


def test_a_user_is_erased_from_every_table_and_nobody_else_is(store: Store) -> None:
    _segments(store, "u1", "u2")
    mine, theirs = _fill(store, "u1"), _fill(store, "u2")
    counts = store.erasures.erase_user("u1", "dpo")
    assert counts == {
        "events": 3,
        "triage_records": 2,
        "corrections": 1,
        "resolutions": 1,
        "user_segments": 1,
    }
    assert list(counts) == list(ERASED_TABLES)
    assert _rows(store, "events", "user_id", "u1") == 0
    assert _rows(store, "triage_records", "customer_id", "u1") == 0
    for table in ("corrections", "resolutions"):
        assert _rows(store, table, "triage_id", mine[0]) == 0
        assert _rows(store, table, "triage_id", theirs[0]) == 1
    assert store.segments.of("u1") is None and store.segments.of("u2") is not None
    assert _rows(store, "events", "user_id", "u2") == 3
    assert [c.triage_id for c in store.resolutions.all_cases()] == [theirs[0]]


def test_a_second_erasure_erases_nothing_and_succeeds(store: Store) -> None:
    _fill(store, "u1")
    store.erasures.erase_user("u1", "dpo")
    assert store.erasures.erase_user("u1", "dpo") == dict.fromkeys(ERASED_TABLES, 0)
    assert store.erasures.erase_user("never-seen", "dpo") == dict.fromkeys(ERASED_TABLES, 0)


def test_the_audit_row_keeps_the_ids_hash_and_never_the_id(store: Store) -> None:
    user = "jo@example.com/7"
    _fill(store, user, messages=1)
    counts = store.erasures.erase_user(user, "dpo-key")
    [record] = store.erasures.erasures_of(user)
    assert (record.kind, record.requested_by, record.counts) == ("user", "dpo-key", counts)
    assert subject_digest(user) == hashlib.sha256(user.encode()).hexdigest()
    with store.engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(select(erasures)).all()]
    assert user not in json.dumps(rows, default=str)
    assert store.erasures.erasures_of("someone-else") == []


def test_erased_resolved_cases_are_listed_for_the_knowledge_base(store: Store) -> None:
    resolved = _fill(store, "u1")[0]
    follower = store.erasures.follower()
    assert follower.poll().seqs == ()
    store.erasures.erase_user("u1", "dpo")
    polled = follower.poll()
    # Only the record that had a resolution: the knowledge base never held the other.
    assert store.erasures.erased_at(polled.seqs) == [resolved]


def test_a_customer_with_more_records_than_a_chunk_is_erased_whole(store: Store) -> None:
    rows = [
        {
            "triage_id": f"t{i:05d}",
            "customer_id": "heavy",
            "redacted_text": "x",
            "language": "en",
            "is_complaint": False,
            "outputs": "{}",
            "model_versions": "{}",
            "created_at": float(i),
        }
        for i in range(2 * ERASE_CHUNK + 7)
    ]
    with store.engine.begin() as connection:
        connection.execute(triage_records.insert(), rows)
    assert store.erasures.erase_user("heavy", "dpo")["triage_records"] == len(rows)
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(triage_records)).scalar() == 0


def test_an_erasure_cut_short_deletes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: a failure at its last step (the audit row) leaves every row in place."""
    _segments(store, "u1")
    _fill(store, "u1")

    def fail(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(erasure, "audit", fail)
    with pytest.raises(RuntimeError):
        store.erasures.erase_user("u1", "dpo")
    assert _rows(store, "events", "user_id", "u1") == 3
    assert _rows(store, "triage_records", "customer_id", "u1") == 2
    assert store.segments.of("u1") is not None
    assert len(store.resolutions.all_cases()) == 1


@pytest.mark.parametrize(
    ("user", "by", "match"),
    [(" u1", "dpo", "user_id"), ("", "dpo", "user_id"), ("u1", "", "requested_by")],
)
def test_a_malformed_id_or_requester_is_refused_and_nothing_is_written(
    store: Store, user: str, by: str, match: str
) -> None:
    with pytest.raises(InvalidErasureError, match=match):
        store.erasures.erase_user(user, by)
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(erasures)).scalar() == 0


def test_a_correction_of_a_record_erased_meanwhile_is_an_unknown_triage(store: Store) -> None:
    """Regression: a correction racing an erasure failed on the foreign key (IntegrityError, a
    500) instead of the 404 a correction of an unknown record gets."""
    triage_id = store.triage.record("late flight", OUTPUTS, {}, "en", True, customer_id="u1")

    erased: list[dict[str, int]] = []

    def erase_first(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO corrections") and not erased:
            other = Store(store.url)
            # Commits between the correction's check of the record and its insert.
            erased.append(other.erasures.erase_user("u1", "dpo"))
            other.engine.dispose()

    event.listen(store.engine, "before_cursor_execute", erase_first)
    try:
        with pytest.raises(UnknownTriageError, match=triage_id):
            store.triage.add_correction(triage_id, "reason", "lost_luggage", "ana")
    finally:
        event.remove(store.engine, "before_cursor_execute", erase_first)
    assert erased[0]["triage_records"] == 1
    assert _rows(store, "corrections", "triage_id", triage_id) == 0


def test_a_model_forgets_an_erased_user_until_it_read_the_log_beyond_the_erasure(
    store: Store,
) -> None:
    """Until a retrain after the erasure is served, the champion held the user's factors and
    history: feeds kept personalising for an erased customer."""
    _fill(store, "u1")
    _fill(store, "u2")  # events 1-6 in the log
    assert not store.erasures.forgets("u1", 0)
    store.erasures.erase_user("u1", "dpo")
    assert store.erasures.forgets("u1", 0)  # a dataset's model: it read no log
    assert store.erasures.forgets("u1", 6)  # its read ended at the log's end: maybe before
    assert not store.erasures.forgets("u1", 7)  # it read an event stored after the erasure
    assert not store.erasures.forgets("u2", 0)
    store.erasures.erase_user("u2", "dpo")  # the log's end is still 6 (u1's rows are gone)
    assert store.erasures.forgets("u2", 6) and not store.erasures.forgets("u2", 7)
