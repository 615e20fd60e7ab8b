"""The user_segments table: a run replaces the last one atomically; the aggregates it reads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import insert

from data.store import Event, SegmentRow, Store, StoreError
from data.store.tables import resolutions


def rows(n: int, segment: str = "core", prefix: str = "u") -> Iterator[SegmentRow]:
    for i in range(n):
        yield SegmentRow(f"{prefix}{i}", segment, json.dumps({"events": i}))


def test_a_run_replaces_the_last_one_in_chunks(store: Store) -> None:
    assert store.segments.replace("run-1", rows(7), computed_at=1.0, chunk_size=3) == 7
    assert store.segments.replace("run-2", rows(4, "casual"), chunk_size=3) == 4
    assert store.segments.sizes() == {"casual": 4}
    stored = store.segments.of("u3")
    assert stored is not None
    assert (stored.segment, stored.details, stored.run_id) == ("casual", {"events": 3}, "run-2")
    assert store.segments.of("u5") is None  # only in the replaced run


def test_a_failing_run_leaves_the_last_one_whole(store: Store) -> None:
    store.segments.replace("run-1", rows(5))

    def broken() -> Iterator[SegmentRow]:
        yield from rows(4, "casual", prefix="n")  # a whole chunk is written first
        raise RuntimeError("the pipeline died")

    with pytest.raises(RuntimeError):
        store.segments.replace("run-2", broken(), chunk_size=2)
    twice = [*rows(3, "casual"), SegmentRow("u1", "casual", "{}")]
    with pytest.raises(StoreError, match="twice"):
        store.segments.replace("run-3", twice, chunk_size=2)
    with pytest.raises(StoreError, match="segment"):
        store.segments.replace("run-4", [*rows(3), SegmentRow("x", "s" * 65, "{}")], chunk_size=1)
    assert store.segments.sizes() == {"core": 5}
    assert store.segments.of("n0") is None and store.segments.of("u4").run_id == "run-1"


def test_aggregates_count_events_contacts_and_open_complaints(store: Store) -> None:
    store.events.add(
        [
            Event("e1", "ann", "i1", "view", 100),
            Event("e2", "ann", "i2", "like", 300),
            Event("e3", "bob", "i1", "complaint", 200),
        ]
    )
    activity = store.segments.activity_by_user().set_index("user_id")
    assert activity.loc["ann"].tolist() == [2, 100.0, 300.0]
    assert store.segments.activity_by_user("bob")["events"].tolist() == [1]

    def triage(customer: str, complaint: bool, at: float, item: str | None = None) -> str:
        outputs = {"reason": {"label": "late"}, "sentiment": {"label": "negative"}}
        return store.triage.record(
            "text", outputs, {}, "en", complaint, customer, item_id=item, occurred_at=at
        )

    first = triage("ann", True, 1_000.0, "i1")
    triage("ann", True, 2_000.0)
    triage("ann", False, 3_000.0)
    with store.engine.begin() as connection:  # the first complaint was resolved
        connection.execute(
            insert(resolutions),
            {
                "resolution_id": "r1",
                "triage_id": first,
                "redacted_resolution": "refunded",
                "outcome": "resolved",
                "agent": "agent-1",
                "created_at": time.time(),
                "ordinal": 1,
            },
        )
    contacts = store.segments.complaints_by_customer().set_index("user_id")
    assert contacts.loc["ann"].tolist() == [3, 1_000.0, 3_000.0, 2, 1, 2_000.0]
    recent = store.segments.recent_complaints("ann")
    assert [(c["at"], c["open"], c["reason"]) for c in recent] == [
        (2_000.0, True, "late"),
        (1_000.0, False, "late"),
    ]
    assert len(store.segments.recent_complaints("ann", limit=1)) == 1
    assert store.segments.complaints_by_customer("nobody").empty


def test_agents_is_complaint_corrections_count_in_the_complaint_aggregates(store: Store) -> None:
    """Regression: a complaint an agent corrected to "not a complaint" kept its customer at
    risk (an open complaint), and a missed complaint corrected to one was never counted."""
    wrong = store.triage.record("text", {}, {}, "en", True, "ann", occurred_at=1_000.0)
    missed = store.triage.record("text", {}, {}, "en", False, "ann", occurred_at=2_000.0)
    store.triage.add_correction(wrong, "is_complaint", "false", "agent-1")
    store.triage.add_correction(missed, "is_complaint", "true", "agent-1")
    contacts = store.segments.complaints_by_customer("ann").set_index("user_id")
    # contacts, first and last contact, complaints, open complaints, last complaint
    assert contacts.loc["ann"].tolist() == [2, 1_000.0, 2_000.0, 1, 1, 2_000.0]
    assert [c["triage_id"] for c in store.segments.recent_complaints("ann")] == [missed]
    store.triage.add_correction(missed, "reason", "lost", "agent-1")
    assert store.segments.recent_complaints("ann")[0]["reason"] == "lost"  # as corrected
