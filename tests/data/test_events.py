"""Event semantics: one value rule, which events are positive, what blocks an item."""

from __future__ import annotations

import pytest

from data.events import (
    EVENT_TYPES,
    IMPLICIT_VALUES,
    NEGATIVE_TYPES,
    RECENT_ITEM_TYPE,
    blocked_items,
    event_value,
    is_positive,
)


def test_every_type_is_either_positive_or_negative() -> None:
    positive = [kind for kind in EVENT_TYPES if is_positive(kind)]
    assert positive and set(positive) | NEGATIVE_TYPES == set(EVENT_TYPES)
    assert not set(positive) & NEGATIVE_TYPES
    assert is_positive(RECENT_ITEM_TYPE)


def test_implicit_events_scale_by_weight_and_ratings_are_their_weight() -> None:
    assert event_value("like") == IMPLICIT_VALUES["like"] == 4.0
    assert event_value("view", 2.0) == 4.0
    assert event_value("purchase", 0.0) == 0.0
    assert event_value("rating", 3.5) == 3.5
    with pytest.raises(ValueError, match="negative"):
        event_value("complaint")
    with pytest.raises(ValueError, match="unknown event type 'teleport'"):
        event_value("teleport")


def test_complaint_events_and_triaged_complaints_block_items() -> None:
    events = [("view", "a"), ("complaint", "b"), ("dislike", "c"), ("like", "b")]
    assert blocked_items(events) == {"b"}
    assert blocked_items(events, ["d"]) == {"b", "d"}
    assert blocked_items([]) == set()
