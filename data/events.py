"""What an interaction event means: its type, its value, and which events block an item.

Every path that turns stored events into model input reads these rules, so a retrain and a feed
request can never disagree about the same history:

- value: an implicit event (view, click, like, share, purchase) is worth
  `IMPLICIT_VALUES[type] × weight`, on the 1-5 scale of explicit ratings, so events and ratings
  can share one model; a `rating` event's value is its `weight` (the rating itself).
- negative events (dislike, complaint) are never part of a positive history: they carry no value.
- a `complaint` event about an item, or a triaged complaint naming the item, blocks it: the
  item is never recommended to that user again.
- items a feed request names in `recent_items` count as `RECENT_ITEM_TYPE` events.
- an event whose value is not positive (weight 0) says nothing about taste and is dropped.

Repeated (user, item) pairs are merged by the model's `duplicates` policy, the same in the
retrain and at serve time (see `features.user_history`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from data.schemas import ITEM_ID, TIMESTAMP, USER_ID

EVENT_TYPES: Final = (
    "view",
    "click",
    "like",
    "share",
    "purchase",
    "rating",
    "dislike",
    "complaint",
)
# Implicit events on the 1-5 scale of explicit ratings: a purchase says as much as a 5-star rating.
IMPLICIT_VALUES: Final[dict[str, float]] = {
    "view": 2.0,
    "click": 3.0,
    "like": 4.0,
    "share": 4.0,
    "purchase": 5.0,
}
RATING_TYPE: Final = "rating"
NEGATIVE_TYPES: Final = frozenset({"dislike", "complaint"})
BLOCKING_TYPES: Final = frozenset({"complaint"})
# A request's recent items tell only that the user saw them: the weakest positive event.
RECENT_ITEM_TYPE: Final = "view"
# Columns of an events frame besides user_id, item_id and timestamp.
EVENT_TYPE: Final = "type"
EVENT_WEIGHT: Final = "weight"
EVENT_ID: Final = "event_id"
# The event log position of each stored event; interactions made from events keep it, so a
# model can record the last event it was trained on.
EVENT_SEQ: Final = "event_seq"
# The columns of an events frame (data.store.EventLog.frame), oldest event first.
EVENT_COLUMNS: Final = [USER_ID, ITEM_ID, EVENT_TYPE, EVENT_WEIGHT, TIMESTAMP, EVENT_ID, EVENT_SEQ]


@dataclass(frozen=True)
class Event:
    """One interaction event as a client posts it (`weight` scales its value, see above)."""

    event_id: str
    user_id: str
    item_id: str
    type: str
    timestamp: int
    weight: float = 1.0


@dataclass(frozen=True)
class StoredEvent(Event):
    """An event as the event log holds it: `seq` is its position in the log (it only grows)."""

    seq: int = 0


def is_positive(event_type: str) -> bool:
    """True for the types that belong in a user's positive history."""
    return event_type in IMPLICIT_VALUES or event_type == RATING_TYPE


def event_value(event_type: str, weight: float = 1.0) -> float:
    """The interaction value of one event (see the module docstring); ValueError for negatives."""
    if event_type == RATING_TYPE:
        return float(weight)
    if event_type in IMPLICIT_VALUES:
        return IMPLICIT_VALUES[event_type] * float(weight)
    if event_type in NEGATIVE_TYPES:
        raise ValueError(f"a '{event_type}' event is negative: it has no positive value")
    raise ValueError(f"unknown event type '{event_type}' (known: {', '.join(EVENT_TYPES)})")


def blocked_items(
    events: Iterable[tuple[str, str]], triaged_complaint_items: Iterable[str] = ()
) -> set[str]:
    """Items one user may never be recommended: the items of their blocking events
    (`(type, item_id)` pairs) and the items their triaged complaints named."""
    blocked = {item for event_type, item in events if event_type in BLOCKING_TYPES}
    return blocked | set(triaged_complaint_items)
