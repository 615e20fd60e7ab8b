"""Complaint counts with agents' corrections, against counts made in Python from the same records,
and what a count costs per record of its range."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from data.store import Store, StoreError
from data.store.complaint_counts import DIMENSIONS, NO_LABEL, PAIR_SEPARATOR, ComplaintCounts

T0 = 1_424_131_200.0  # 2015-02-17 00:00 UTC
DAY_S = 86400.0
LABELS = {
    "sentiment": ("negative", "neutral", "positive"),
    "reason": ("late", "lost", "rude"),
    "category": ("flight", "bag"),
    "queue": ("ops", "refunds"),
    "is_complaint": ("true", "false"),
    "urgency": ("low", "high"),
}


@dataclass(frozen=True)
class Message:
    at: float
    complaint: bool
    sentiment: str | None
    reason: str | None
    category: str | None
    queue: str | None
    item: str | None


def _store_message(store: Store, message: Message) -> str:
    outputs: dict[str, dict[str, str]] = {}
    for task, key, value in (
        ("sentiment", "label", message.sentiment),
        ("reason", "label", message.reason),
        ("category", "label", message.category),
        ("routing", "queue", message.queue),
    ):
        if value is not None:
            outputs[task] = {key: value}
    return store.triage.record(
        "words", outputs, {}, "en", message.complaint, item_id=message.item, occurred_at=message.at
    )


def _group(message: Message, by: str) -> str | None:
    if by == "item":
        return message.item
    if by == "item_reason":
        return (
            None
            if message.item is None
            else message.item + PAIR_SEPARATOR + (message.reason or NO_LABEL)
        )
    return getattr(message, by) or NO_LABEL


def _by_hand(messages: list[Message], by: str, days: int) -> tuple[dict[str, list[int]], ...]:
    """(groups, {"totals", "complaints", "negatives"}) counted in Python, per day from T0."""
    groups: dict[str, list[int]] = {}
    sums = {name: [0] * days for name in ("totals", "complaints", "negatives")}
    for message in messages:
        day = int((message.at - T0) // DAY_S)
        if not 0 <= day < days:
            continue
        sums["totals"][day] += 1
        sums["complaints"][day] += message.complaint
        sums["negatives"][day] += message.sentiment == "negative"
        group = _group(message, by)
        if group is not None and (message.complaint or by == "sentiment"):
            groups.setdefault(group, [0] * days)[day] += 1
    return groups, sums


def _corrected(message: Message, latest: dict[str, str]) -> Message:
    """The message as agents last corrected it (urgency changes nothing counted)."""
    complaint = latest.get("is_complaint")
    return Message(
        at=message.at,
        complaint=message.complaint if complaint is None else complaint == "true",
        sentiment=latest.get("sentiment", message.sentiment),
        reason=latest.get("reason", message.reason),
        category=latest.get("category", message.category),
        queue=latest.get("queue", message.queue),
        item=message.item,
    )


def test_counts_with_corrections_of_every_field_match_counts_by_hand(store: Store) -> None:
    """Counting by the model's labels and moving the corrected records gives what counting
    every record as agents last corrected it gives, on every dimension."""
    rng = random.Random(7)

    def label(field: str) -> str | None:
        return rng.choice((*LABELS[field], None))

    messages = [
        Message(
            at=T0 + rng.uniform(-DAY_S, 4 * DAY_S),  # some before and after the range
            complaint=rng.random() < 0.6,
            sentiment=label("sentiment"),
            reason=label("reason"),
            category=label("category"),
            queue=label("queue"),
            item=rng.choice(("A", "B", "C", None)),
        )
        for _ in range(80)
    ]
    ids = [_store_message(store, m) for m in messages]
    latest: dict[int, dict[str, str]] = {}
    for k in range(70):  # several corrections of one record's field: the latest counts
        index, field = rng.randrange(len(ids)), rng.choice(sorted(LABELS))
        correct = rng.choice(LABELS[field])
        store.triage.add_correction(ids[index], field, correct, f"agent{k}")
        latest.setdefault(index, {})[field] = correct
    seen = [_corrected(m, latest.get(i, {})) for i, m in enumerate(messages)]
    for by in DIMENSIONS:
        counts = store.complaints.counts(by, T0, T0 + 3 * DAY_S)
        groups, sums = _by_hand(seen, by, 3)
        assert counts.groups == groups, by
        assert (counts.totals, counts.complaints, counts.negatives) == (
            sums["totals"],
            sums["complaints"],
            sums["negatives"],
        ), by
        ranked = sorted(groups, key=lambda g: (-sum(groups[g]), g))
        assert list(counts.groups) == ranked, by  # most records first, ties by name


def test_a_group_all_of_whose_records_were_corrected_away_is_no_group(store: Store) -> None:
    model_said = Message(T0 + 60, True, "negative", "late", None, None, "A")
    first = _store_message(store, model_said)
    _store_message(store, replace(model_said, reason="lost"))
    store.triage.add_correction(first, "reason", "lost", "ana")
    counts = store.complaints.counts("reason", T0, T0 + DAY_S, max_groups=1)
    assert counts.groups == {"lost": [2]} and counts.other == [0]
    assert counts.group_totals == {"lost": 2}


def _steps_per_record(tmp_path: Path, by: str, records: int) -> float:
    """SQLite VM steps of one count, per record of its range (a few records corrected)."""
    store = Store(f"sqlite:///{tmp_path / f'{by}.db'}")
    ids = [
        _store_message(store, Message(T0 + k, True, "negative", "late", "bag", "ops", "A"))
        for k in range(records)
    ]
    for triage_id in ids[:5]:
        store.triage.add_correction(triage_id, "is_complaint", "false", "ana")
    store.engine.dispose()
    steps = Counter[str]()

    def count_step() -> int:
        steps["vm"] += 1
        return 0

    engine = create_engine(store.url, poolclass=StaticPool)  # one connection sees every query
    engine.raw_connection().dbapi_connection.set_progress_handler(count_step, 1)
    counts = ComplaintCounts(engine).counts(by, T0, T0 + DAY_S)
    engine.dispose()
    assert counts.complaints == [records - 5]
    return steps["vm"] / records


@pytest.mark.parametrize("by", ["reason", "item"])
def test_a_count_does_not_look_up_every_records_corrections(tmp_path: Path, by: str) -> None:
    """Regression: a count read its range three times and looked each record's corrections up
    per label (a correlated subquery each), so a 92-day summary of a year took 4-6 s."""
    assert _steps_per_record(tmp_path, by, 600) < 60


def test_counts_of_several_dimensions_are_each_ones_counts(store: Store) -> None:
    for k, (reason, item) in enumerate(
        [("late", "A"), ("lost", "A"), ("late", None), ("lost", "B")]
    ):
        _store_message(store, Message(T0 + k * 3600, True, "negative", reason, None, None, item))
    together = store.complaints.counts_of(("reason", "item", "reason"), T0, T0 + DAY_S, 3600)
    assert list(together) == ["reason", "item"]
    for by, counts in together.items():
        assert counts == store.complaints.counts(by, T0, T0 + DAY_S, 3600)
    assert together["item"].group_totals == {"A": 2, "B": 1}  # no item, no item group
    with pytest.raises(StoreError, match="unknown dimension 'colour'"):
        store.complaints.counts_of(("reason", "colour"), T0, T0 + DAY_S)
    with pytest.raises(StoreError, match="no dimension"):
        store.complaints.counts_of((), T0, T0 + DAY_S)
