"""Event semantics: one value rule, which events are positive, what blocks an item, and what
the store can hold."""

from __future__ import annotations

import numpy as np
import pytest

from data.events import (
    DISLIKE_LIFT_VALUE,
    ENTITY_ID_LENGTH,
    EVENT_ID_LENGTH,
    EVENT_TYPES,
    IMPLICIT_VALUES,
    MAX_EVENT_WEIGHT,
    MAX_FUTURE_S,
    NEGATIVE_TYPES,
    RECENT_ITEM_TYPE,
    Event,
    InvalidFieldError,
    blocked_items,
    check_identifier,
    disliked_items,
    event_value,
    is_positive,
    lifts_dislike,
    validate_event,
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


def test_a_dislike_keeps_its_item_out_until_a_later_event_worth_a_like() -> None:
    events = [
        ("like", "a", 1.0),
        ("dislike", "a", 1.0),
        ("dislike", "b", 1.0),
        ("like", "b", 1.0),
        ("dislike", "c", 1.0),
        ("dislike", "e", 1.0),
        ("rating", "e", 4.0),
    ]
    assert disliked_items(events) == {"a", "c"}
    assert disliked_items([("dislike", "d", 1.0), ("complaint", "d", 1.0)]) == {"d"}


@pytest.mark.parametrize(
    ("kind", "weight"),
    [("like", 0.0), ("purchase", 0.0), ("rating", 1.0), ("rating", 3.0), ("view", 1.0)],
)
def test_an_event_worth_less_than_a_like_leaves_a_dislike_standing(
    kind: str, weight: float
) -> None:
    """Regression: a dislike was lifted by any later positive-type event, a weight-0 like (which
    says nothing about taste) and a 1-star rating included."""
    assert not lifts_dislike(kind, weight)
    assert disliked_items([("dislike", "i", 1.0), (kind, "i", weight)]) == {"i"}


def test_what_lifts_a_dislike_is_worth_at_least_a_like() -> None:
    assert event_value("like") == DISLIKE_LIFT_VALUE
    assert lifts_dislike("like") and lifts_dislike("share") and lifts_dislike("purchase")
    assert lifts_dislike("rating", 4.0) and lifts_dislike("view", 2.0)  # a view worth a like
    assert not lifts_dislike("dislike") and not lifts_dislike("complaint")


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    "event",
    [
        Event("e" * EVENT_ID_LENGTH, "u" * ENTITY_ID_LENGTH, "i" * ENTITY_ID_LENGTH, "view", 0),
        Event("e1", "ユーザー", "item with spaces", "rating", int(NOW) + MAX_FUTURE_S, 5.0),
        Event("e1", "u", "i", "view", np.int64(NOW), MAX_EVENT_WEIGHT),
        Event("e1", "u", "i", "purchase", int(NOW), 0),
    ],
)
def test_events_the_store_can_hold_pass_validation(event: Event) -> None:
    validate_event(event, now=NOW)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (Event("e" * (EVENT_ID_LENGTH + 1), "u", "i", "view", 0), r"event_id is 129 characters"),
        (Event("e", "u" * (ENTITY_ID_LENGTH + 1), "i", "view", 0), r"user_id is 257 characters"),
        (Event("e", "u", "", "view", 0), "item_id must be a non-empty string"),
        (Event("e", "u", "i\n", "view", 0), r"item_id contains the control character U\+000A"),
        (Event("e\x7f", "u", "i", "view", 0), r"event_id contains the control character U\+007F"),
        (Event("e", " 196", "i", "view", 0), r"user_id ' 196' starts or ends with spaces.*'196'"),
        (
            Event("e", "u", "i\u3000", "view", 0),
            r"item_id 'i\\u3000' starts or ends with spaces",
        ),  # an ideographic space
        (Event("e", "u", "i", "View", 0), "unknown event type 'View'"),
        (Event("e", "u", "i", "view", int(NOW) + MAX_FUTURE_S + 1), "a day past now"),
        (
            Event("e", "u", "i", "view", int(NOW) * 1000),
            r"looks like epoch milliseconds; send whole epoch seconds \(1800000000\)",
        ),
        (Event("e", "u", "i", "view", 1.5), "whole epoch seconds"),
        (Event("e", "u", "i", "view", True), "whole epoch seconds"),
        (Event("e", "u", "i", "view", 0, -0.5), "weight must be finite, from 0"),
        (Event("e", "u", "i", "view", 0, MAX_EVENT_WEIGHT * 2), "weight must be finite, from 0"),
        (Event("e", "u", "i", "view", 0, "1"), "weight must be a number"),
    ],
)
def test_what_the_store_cannot_hold_is_refused_naming_the_field(event: Event, message: str) -> None:
    with pytest.raises(InvalidFieldError, match=message):
        validate_event(event, now=NOW)


def test_a_refused_huge_id_is_quoted_only_by_its_beginning() -> None:
    with pytest.raises(InvalidFieldError) as caught:
        check_identifier("user_id", "x" * 100_000 + "\x00", 10**6)
    assert "(100001 characters)" in str(caught.value) and len(str(caught.value)) < 200
