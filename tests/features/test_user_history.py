"""A user's history from stored events: valued by data.events, merged by the duplicates policy."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from data import schemas as S
from data.events import EVENT_SEQ, StoredEvent
from features.interactions import deduplicate
from features.user_history import (
    FITTED_TIMESTAMP,
    Interaction,
    UserHistory,
    event_interactions,
    merge_history,
    newer_than,
    positive_interactions,
    user_activity,
)


def stored(*rows: tuple[str, str, str, float]) -> list[StoredEvent]:
    """(user, item, type, weight) rows in log order."""
    return [
        StoredEvent(f"e{seq}", user, item, kind, 100 + seq, weight, seq)
        for seq, (user, item, kind, weight) in enumerate(rows, start=1)
    ]


EVENTS = stored(
    ("u1", "a", "like", 1.0),
    ("u1", "b", "complaint", 1.0),
    ("u1", "c", "rating", 2.5),
    ("u1", "a", "view", 1.0),
    ("u1", "d", "purchase", 0.0),  # no value: says nothing about taste
    ("u2", "a", "purchase", 2.0),
)
U1 = [event for event in EVENTS if event.user_id == "u1"]


def test_positive_events_become_valued_interactions_with_their_log_position() -> None:
    frame = event_interactions(EVENTS)
    assert list(frame.columns) == [S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP, EVENT_SEQ]
    assert frame[[S.USER_ID, S.ITEM_ID, S.RATING, EVENT_SEQ]].values.tolist() == [
        ["u1", "a", 4.0, 1],
        ["u1", "c", 2.5, 3],
        ["u1", "a", 2.0, 4],
        ["u2", "a", 10.0, 6],
    ]
    empty = event_interactions([])
    assert empty.empty and list(empty.columns) == list(frame.columns)


def test_user_activity_blocks_complained_items_and_keeps_only_positive_history() -> None:
    activity = user_activity(U1, ["z"])
    assert activity.blocked == frozenset({"b", "z"})
    assert [(i.item_id, i.value) for i in activity.interactions] == [
        ("a", 4.0),
        ("c", 2.5),
        ("a", 2.0),
    ]


@pytest.mark.parametrize(
    ("duplicates", "value_of_a"), [("sum", 1.0 + 4.0 + 2.0), ("max", 4.0), ("last", 2.0)]
)
def test_merge_follows_the_duplicates_policy(duplicates: str, value_of_a: float) -> None:
    fitted = UserHistory(("a", "x"), (1.0, 5.0))
    merged = merge_history(fitted, positive_interactions(U1), duplicates=duplicates)  # type: ignore[arg-type]
    values = dict(zip(merged.items, merged.values, strict=True))
    assert values == {"a": value_of_a, "x": 5.0, "c": 2.5}


def test_recent_items_add_only_what_the_history_lacks_as_views() -> None:
    fitted = UserHistory(("a",), (5.0,))
    merged = merge_history(fitted, [], ["a", "n", "n"])
    assert merged == UserHistory(("a", "n"), (5.0, 2.0))
    assert merge_history(fitted, []) == fitted
    distinct = merge_history(fitted, positive_interactions(stored(("u1", "b", "click", 1.0))))
    assert distinct == UserHistory(("a", "b"), (5.0, 3.0))


def test_newer_than_keeps_events_after_the_fitted_log_position() -> None:
    interactions = positive_interactions(EVENTS)
    assert [i.seq for i in newer_than(interactions, 3)] == [4, 6]
    assert newer_than(interactions, 0) == interactions
    assert newer_than(interactions, 6) == []


@pytest.mark.parametrize("duplicates", ["sum", "max", "last"])
def test_feed_merge_equals_the_frame_deduplicate(duplicates: str) -> None:
    # Regression guard: a feed merges repeats on plain lists; it must match `deduplicate`.
    rng = random.Random(duplicates)
    for _ in range(200):
        fitted_items = rng.sample("abcdef", rng.randint(0, 4))
        fitted = UserHistory(
            tuple(fitted_items), tuple(float(rng.randint(1, 5)) for _ in fitted_items)
        )
        new = [
            Interaction("u", rng.choice("abcdefg"), rng.choice([0.5, 1.0, 2.0, 3.0]), ts, seq)
            for seq, ts in enumerate(rng.choices([5, 6, 7], k=rng.randint(0, 6)), start=1)
        ]
        items = [*fitted.items, *(i.item_id for i in new)]
        frame = pd.DataFrame(
            {
                S.USER_ID: "",
                S.ITEM_ID: items,
                S.RATING: [*fitted.values, *(i.value for i in new)],
                S.TIMESTAMP: [FITTED_TIMESTAMP] * len(fitted) + [i.timestamp for i in new],
            }
        )
        expected = deduplicate(frame, duplicates)  # type: ignore[arg-type]
        merged = merge_history(fitted, new, duplicates=duplicates)  # type: ignore[arg-type]
        assert merged.items == tuple(expected[S.ITEM_ID])
        assert merged.values == pytest.approx(tuple(expected[S.RATING]), abs=1e-12)


def test_feed_merge_refuses_repeats_under_the_error_policy() -> None:
    fitted = UserHistory(("a",), (1.0,))
    with pytest.raises(ValueError, match="duplicate interaction"):
        merge_history(fitted, [Interaction("u", "a", 1.0, 5, 1)], duplicates="error")
