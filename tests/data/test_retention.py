"""Retention: messages older than the period go by their message time (occurred_at, else
arrival) with their corrections and resolutions, events by timestamp, in batches; a dry run
counts and deletes nothing; each run is audited (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from data.events import Event
from data.store import Store
from data.store.retention import DAY_S, RetentionCutoffs, count_prunable, prune
from data.store.tables import erasures, triage_records

NOW = 1_750_000_000.0  # a fixed "now" in the past: events may not be in the future


def _record(store: Store, triage_id: str, created_at: float, occurred_at: float | None) -> None:
    row = {
        "triage_id": triage_id,
        "customer_id": "c1",
        "redacted_text": "late again",
        "language": "en",
        "is_complaint": True,
        "outputs": "{}",
        "model_versions": "{}",
        "created_at": created_at,
        "occurred_at": occurred_at,
    }
    with store.engine.begin() as connection:
        connection.execute(triage_records.insert(), row)


def _filled(store: Store) -> None:
    """Old by arrival, old by message time (backfilled), recent, and one resolved old one."""
    _record(store, "old", NOW - 400 * DAY_S, None)
    _record(store, "backfilled", NOW - 1 * DAY_S, NOW - 400 * DAY_S)
    _record(store, "recent", NOW - 400 * DAY_S, NOW - 1 * DAY_S)  # arrived late, written lately
    _record(store, "resolved", NOW - 500 * DAY_S, None)
    store.triage.add_correction("resolved", "reason", "lost_luggage", "ana")
    store.resolutions.add("resolved", "rebooked", "resolved", "ana")
    store.events.add(
        [
            Event("e-old", "u1", "i1", "view", int(NOW - 100 * DAY_S)),
            Event("e-new", "u1", "i2", "view", int(NOW - 1 * DAY_S)),
        ]
    )


def _ids(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        query = select(triage_records.c.triage_id).order_by(triage_records.c.triage_id)
        return list(connection.execute(query).scalars())


def test_old_messages_and_events_go_in_batches_and_the_run_is_audited(store: Store) -> None:
    _filled(store)
    cutoffs = RetentionCutoffs.older_than(365, 30, now=NOW)
    expected = {"triage_records": 3, "corrections": 1, "resolutions": 1, "events": 1}
    assert count_prunable(store.engine, cutoffs) == expected
    assert _ids(store) == ["backfilled", "old", "recent", "resolved"]  # the count deleted none
    follower = store.erasures.follower()
    assert prune(store.engine, cutoffs, "cron", batch=2) == expected
    assert _ids(store) == ["recent"]
    assert [e.event_id for e in store.events.read()] == ["e-new"]
    assert store.erasures.erased_at(follower.poll().seqs) == ["resolved"]
    with store.engine.connect() as connection:
        [row] = connection.execute(select(erasures)).all()
    assert (row.kind, row.requested_by, row.subject_sha256) == ("retention", "cron", None)
    assert json.loads(row.counts) == expected
    parameters = json.loads(row.parameters)
    assert parameters["completed"] is True
    assert parameters["messages_before"] == pytest.approx(NOW - 365 * DAY_S)
    # Again: nothing left to delete, and the run is still audited.
    assert set(prune(store.engine, cutoffs, "cron").values()) == {0}


def test_only_the_kinds_given_are_pruned(store: Store) -> None:
    _filled(store)
    assert prune(store.engine, RetentionCutoffs.older_than(None, 30, now=NOW), "cron") == {
        "triage_records": 0,
        "corrections": 0,
        "resolutions": 0,
        "events": 1,
    }
    assert len(_ids(store)) == 4


def test_a_run_cut_short_is_audited_with_what_it_deleted(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _filled(store)
    from data.store import retention

    def fail(*_args: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(retention, "_prune_events", fail)
    with pytest.raises(RuntimeError):
        prune(store.engine, RetentionCutoffs.older_than(365, 30, now=NOW), "cron")
    with store.engine.connect() as connection:
        [row] = connection.execute(select(erasures)).all()
    assert json.loads(row.counts)["triage_records"] == 3
    assert json.loads(row.parameters)["completed"] is False


@pytest.mark.parametrize(
    ("messages", "events", "match"),
    [(None, None, "messages, events or both"), (0, None, "messages"), (30, -1, "events")],
)
def test_a_period_must_be_given_and_positive(
    messages: float | None, events: float | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        RetentionCutoffs.older_than(messages, events)
