"""data.store.follow: a reader of the resolutions also reads a row whose number became visible
after a higher one (concurrent inserts committing out of order), gives up on numbers that never
appear, and reads the same numbers again when the caller did not advance. Rows are inserted with
explicit numbers to play the commit order out (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import logging

import pytest

from data.store import Store
from data.store.follow import SeqFollower
from data.store.tables import corrections, resolutions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _triage(store: Store, text: str = "my bag is lost") -> str:
    outputs = {"reason": {"label": "lost_luggage"}, "routing": {"queue": "baggage"}}
    return store.triage.record(text, outputs, {}, "en", True, customer_id="c1")


def _resolve(store: Store, triage_id: str, *seqs: int, outcome: str = "resolved") -> None:
    rows = [
        {
            "seq": seq,
            "resolution_id": f"r{seq}",
            "triage_id": triage_id,
            "redacted_resolution": f"fix {seq}",
            "outcome": outcome,
            "agent": "ana",
            "created_at": 0.0,
            "ordinal": seq,  # the case's resolutions in number order
        }
        for seq in seqs
    ]
    with store.engine.begin() as connection:
        connection.execute(resolutions.insert(), rows)


def _follower(store: Store, clock: Clock, **options: int) -> SeqFollower:
    return SeqFollower(store.engine, resolutions.c.seq, clock=clock, **options)


def _read(follower: SeqFollower) -> list[int]:
    """Every number a catch-up would read now, as the service's loop reads them."""
    read: list[int] = []
    follower.drain(read.extend)
    return read


def test_a_number_visible_after_a_higher_one_is_read_once(store: Store) -> None:
    triage_id, clock = _triage(store), Clock()
    follower = _follower(store, clock)
    _resolve(store, triage_id, 1, 2, 4)  # 3 took its number first and has not committed
    assert _read(follower) == [1, 2, 4]
    assert follower.last == 4 and set(follower.pending) == {3}
    assert _read(follower) == []
    clock.now += 30
    _resolve(store, triage_id, 3)  # ... commits now
    assert _read(follower) == [3]
    assert follower.pending == {} and _read(follower) == []


def test_a_number_that_never_appears_is_given_up_after_the_settle_time(store: Store) -> None:
    triage_id, clock = _triage(store), Clock()
    follower = _follower(store, clock)
    _resolve(store, triage_id, 1, 3)  # 2 was rolled back
    assert _read(follower) == [1, 3] and set(follower.pending) == {2}
    clock.now += follower.settle_s - 1
    assert _read(follower) == [] and set(follower.pending) == {2}
    clock.now += 2
    polled = follower.poll()
    assert polled.expired == (2,) and polled.seqs == ()
    follower.advance(polled)
    assert follower.pending == {}


def test_numbers_are_read_again_until_the_caller_advances(store: Store) -> None:
    triage_id, clock = _triage(store), Clock()
    follower = _follower(store, clock)
    _resolve(store, triage_id, 1, 2)
    assert follower.poll().seqs == (1, 2)
    assert follower.poll().seqs == (1, 2)  # the caller failed: nothing was recorded
    follower.advance(follower.poll())
    assert follower.poll().seqs == ()


def test_reads_are_bounded_by_the_batch_and_rows_of_any_outcome_are_not_gaps(
    store: Store,
) -> None:
    triage_id, clock = _triage(store), Clock()
    follower = _follower(store, clock, batch=2)
    _resolve(store, triage_id, 1, 3, 5)
    _resolve(store, triage_id, 2, 4, outcome="not_resolved")  # not knowledge, but not gaps
    polled = follower.poll()
    assert polled.seqs == (1, 2) and polled.more
    follower.advance(polled)
    assert _read(follower) == [3, 4, 5] and follower.pending == {}
    assert [case.seq for case in store.resolutions.cases_at([1, 2, 3, 4, 5])] == [1, 3, 5]
    assert store.resolutions.cases_at([]) == []
    with pytest.raises(ValueError, match="at most"):
        store.resolutions.cases_at(range(1, 2002))


def test_a_jump_of_the_sequence_is_not_waited_for(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    triage_id, clock = _triage(store), Clock()
    follower = _follower(store, clock, max_pending=5)
    _resolve(store, triage_id, 1, 100)
    with caplog.at_level(logging.WARNING, logger="data.store.follow"):
        assert _read(follower) == [1, 100]
    assert follower.pending == {} and "jumped from 1 to 100" in caplog.text


def test_filings_take_the_latest_correction_whatever_order_they_are_read_in(
    store: Store,
) -> None:
    triage_id = _triage(store)
    rows = [
        (7, "reason", "damaged_luggage"),  # committed first
        (9, "sentiment", "negative"),  # not a filing label
        (6, "reason", "lost_luggage"),  # older: took its number first, committed last
        (8, "queue", "claims"),
    ]
    with store.engine.begin() as connection:
        connection.execute(
            corrections.insert(),
            [
                {
                    "seq": seq,
                    "correction_id": f"c{seq}",
                    "triage_id": triage_id,
                    "field": field,
                    "correct_label": label,
                    "agent": "ana",
                    "created_at": 0.0,
                }
                for seq, field, label in rows
            ],
        )
    filings = store.resolutions.filings_corrected_at([6])
    assert filings == {triage_id: {"reason": "damaged_luggage", "queue": "claims"}}
    assert store.resolutions.filings_corrected_at([9]) == {}  # no filing label corrected


def test_concurrent_inserts_committing_out_of_order_are_all_read(store: Store) -> None:
    """The race itself, on PostgreSQL: an insert holds number n uncommitted while another takes
    n + 1 and commits; the reader reads n + 1, then n once it commits. (SQLite lets one writer
    at a time, so there the race cannot happen.)"""
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers: numbers become visible in order")
    clock = Clock()
    follower = _follower(store, clock)
    assert _read(follower) == []

    def row(resolution_id: str) -> dict[str, object]:
        # Two cases: one case's resolutions are written one after another (their ordinal).
        return {
            "resolution_id": resolution_id,
            "triage_id": _triage(store),
            "redacted_resolution": "fixed",
            "outcome": "resolved",
            "agent": "ana",
            "created_at": 0.0,
            "ordinal": 1,
        }

    slow = store.engine.connect()
    try:
        transaction = slow.begin()
        [first] = slow.execute(resolutions.insert().returning(resolutions.c.seq), [row("slow")])
        with store.engine.begin() as fast:
            [second] = fast.execute(
                resolutions.insert().returning(resolutions.c.seq), [row("fast")]
            )
        assert second.seq == first.seq + 1
        assert _read(follower) == [second.seq]  # the lower number is not visible yet
        assert set(follower.pending) == {first.seq}
        transaction.commit()
    finally:
        slow.close()
    assert _read(follower) == [first.seq]
    assert [case.seq for case in store.resolutions.cases_at([first.seq])] == [first.seq]
