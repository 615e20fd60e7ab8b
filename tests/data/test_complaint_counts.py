"""Complaint counts from the triage log against counts made by hand, and alerts raised once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.pool import StaticPool

from data.store import Store, StoreError
from data.store.complaint_counts import (
    DAY_S,
    MAX_BUCKETS,
    NO_LABEL,
    TEXT_SAMPLE_CHARS,
    ComplaintCounts,
)
from data.store.tables import triage_records

T0 = 1_424_131_200.0  # 2015-02-17 00:00 UTC


def _record(
    store: Store,
    at: float | None,
    reason: str | None,
    item: str,
    sentiment: str = "negative",
    complaint: bool = True,
    text: str = "my bag is lost",
) -> str:
    outputs = {"sentiment": {"label": sentiment}, "routing": {"queue": "ops"}}
    if reason is not None:
        outputs["reason"] = {"label": reason}
    return store.triage.record(
        text, outputs, {}, "en", complaint, customer_id="c", item_id=item, occurred_at=at
    )


@pytest.fixture
def filled(store: Store) -> Store:
    # Day 0: 2 late (A), 1 lost (B), 1 neutral non-complaint (B); day 1: 3 lost (A);
    # day 2: one late complaint just outside the range (at T0 + 3 days exactly).
    _record(store, T0 + 10, "late", "A")
    _record(store, T0 + 3600, "late", "A")
    _record(store, T0 + 7200, "lost", "B")
    _record(store, T0 + 7300, None, "B", sentiment="neutral", complaint=False)
    for k in range(3):
        _record(store, T0 + DAY_S + k, "lost", "A")
    _record(store, T0 + 3 * DAY_S, "late", "A")
    return store


def test_daily_counts_by_reason_match_hand_counts(filled: Store) -> None:
    counts = filled.complaints.counts("reason", T0, T0 + 3 * DAY_S)
    assert counts.starts == [T0, T0 + DAY_S, T0 + 2 * DAY_S]
    assert counts.groups == {"lost": [1, 3, 0], "late": [2, 0, 0]}
    assert list(counts.groups) == ["lost", "late"]  # most records first
    assert counts.totals == [4, 3, 0]
    assert counts.complaints == [3, 3, 0]
    assert counts.negative_share() == [0.75, 1.0, None]


def test_agents_is_complaint_corrections_change_the_counts(store: Store) -> None:
    """Regression: a false complaint an agent corrected away still fed the trends and spike
    alerts, and a missed one corrected to a complaint was not counted."""
    wrong = _record(store, T0 + 10, "late", "A", text="late again")
    missed = _record(store, T0 + 20, "late", "A", text="fine, thanks", complaint=False)
    assert store.complaints.counts("reason", T0, T0 + DAY_S).complaints == [1]
    store.triage.add_correction(wrong, "is_complaint", "false", "ana")
    store.triage.add_correction(missed, "is_complaint", "true", "ana")
    counts = store.complaints.counts("reason", T0, T0 + DAY_S)
    assert counts.complaints == [1] and counts.groups == {"late": [1]}
    assert store.complaints.complaint_texts(T0, T0 + DAY_S) == ["fine, thanks"]
    store.triage.add_correction(missed, "is_complaint", "false", "bo")  # the latest one counts
    assert store.complaints.counts("reason", T0, T0 + DAY_S).complaints == [0]


def test_counts_by_item_and_pair_and_the_group_cap(filled: Store) -> None:
    by_item = filled.complaints.counts("item", T0, T0 + 2 * DAY_S)
    assert by_item.groups == {"A": [2, 3], "B": [1, 0]}
    pairs = filled.complaints.counts("item_reason", T0, T0 + 2 * DAY_S, max_groups=1)
    assert pairs.groups == {"A · lost": [0, 3]}
    assert pairs.other == [3, 0]  # A · late (2) and B · lost (1) are left out, summed here


def test_hourly_windows_and_message_time_falls_back_to_arrival(store: Store) -> None:
    _record(store, T0 + 3599, "late", "A")
    _record(store, T0 + 3600, "late", "A")
    _record(store, None, "late", "A")  # no occurred_at: counted at created_at (now)
    counts = store.complaints.counts("reason", T0, T0 + 2 * 3600, width=3600)
    assert counts.groups == {"late": [1, 1]}
    import time

    now = time.time()
    recent = store.complaints.counts("reason", now - 60, now + 60, width=120)
    assert recent.groups == {"late": [1]}


def test_bounds_and_unknown_dimension_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown dimension"):
        store.complaints.counts("colour", T0, T0 + DAY_S)
    with pytest.raises(StoreError, match="at most"):
        store.complaints.counts("reason", T0, T0 + (MAX_BUCKETS + 1) * 60, width=60)


def test_complaint_texts_are_the_newest_complaints_bounded(filled: Store) -> None:
    texts = filled.complaints.complaint_texts(T0, T0 + 3 * DAY_S, limit=2)
    assert texts == ["my bag is lost", "my bag is lost"]
    assert len(filled.complaints.complaint_texts(T0, T0 + 3 * DAY_S)) == 6


def test_complaint_texts_read_only_the_start_of_a_long_text(store: Store) -> None:
    # Regression: each analytics call read up to 4,000 whole texts of 100 KB (400 MB).
    long_text = "lost " + "bag " * 25_000  # 100 KB
    store.triage.record(
        long_text, {"reason": {"label": "lost"}}, {}, "en", True, customer_id="c1", occurred_at=T0
    )
    (text,) = store.complaints.complaint_texts(T0, T0 + DAY_S)
    assert text == long_text[:TEXT_SAMPLE_CHARS]


def test_an_alert_key_is_raised_once(store: Store) -> None:
    first = store.alerts.raise_once("reason|late|1", "reason", "late", T0, T0 + 3600, {"n": 5})
    again = store.alerts.raise_once("reason|late|1", "reason", "late", T0, T0 + 3600, {"n": 6})
    assert (first, again) == (True, False)
    stored = store.alerts.between(T0, T0 + DAY_S)
    assert [(a.group_value, a.details) for a in stored] == [("late", {"n": 5})]
    assert store.alerts.between(T0 + 3600, T0 + DAY_S) == []


def test_every_complaint_is_in_a_group_and_agents_label_corrections_regroup_it(
    store: Store,
) -> None:
    """Regression: complaints the model gave no reason (a language without a reason model)
    were in no group and not in `other`, and an agent's reason correction never moved one."""
    plain = _record(store, T0 + 10, "late", "A")
    unlabelled = _record(store, T0 + 20, None, "A", sentiment="negative")
    counts = store.complaints.counts("reason", T0, T0 + DAY_S)
    assert counts.groups == {NO_LABEL: [1], "late": [1]} and counts.complaints == [2]
    assert sum(g[0] for g in counts.groups.values()) + counts.other[0] == counts.complaints[0]
    store.triage.add_correction(unlabelled, "reason", "lost", "ana")
    store.triage.add_correction(plain, "sentiment", "neutral", "ana")
    counts = store.complaints.counts("reason", T0, T0 + DAY_S)
    assert counts.groups == {"late": [1], "lost": [1]}
    assert counts.negatives == [1]  # the corrected sentiment counts
    pairs = store.complaints.counts("item_reason", T0, T0 + DAY_S)
    assert set(pairs.groups) == {"A · late", "A · lost"}


def _steps_of_a_day_count(store: Store, old_records: int) -> int:
    """SQLite VM steps of counting one day that holds one record, beside `old_records` records
    of earlier days that arrived without an `occurred_at` (as most clients send them)."""
    first = _record(store, None, "late", "A")
    with store.engine.begin() as connection:
        row = dict(
            connection.execute(select(triage_records).where(triage_records.c.triage_id == first))
            .mappings()
            .one()
        )
        connection.execute(
            update(triage_records).where(triage_records.c.triage_id == first),
            {"created_at": T0 + 10 * DAY_S + 60},
        )
        copies = [
            {**row, "triage_id": f"old-{k}", "created_at": T0 + k % (9 * DAY_S)}
            for k in range(old_records)
        ]
        connection.execute(insert(triage_records), copies)
    steps = 0

    def count_step() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.engine.dispose()
    # One connection, so the counter sees every statement the counts run.
    engine = create_engine(store.url, poolclass=StaticPool)
    raw = engine.raw_connection().dbapi_connection
    raw.set_progress_handler(count_step, 1)
    counts = ComplaintCounts(engine).counts("reason", T0 + 10 * DAY_S, T0 + 11 * DAY_S)
    assert counts.groups == {"late": [1]}
    engine.dispose()
    return steps


def test_a_day_count_reads_that_day_not_the_whole_history(tmp_path: Path) -> None:
    """Regression: records without occurred_at were found by `occurred_at IS NULL`, so every
    count of any range visited the whole history (a 7-day summary of a year took 6.6 s)."""
    small = _steps_of_a_day_count(Store(f"sqlite:///{tmp_path / 'small.db'}"), 200)
    large = _steps_of_a_day_count(Store(f"sqlite:///{tmp_path / 'large.db'}"), 4000)
    assert large < small * 1.1, (small, large)
