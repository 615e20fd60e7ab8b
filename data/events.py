"""What an interaction event means: its type, its value, and which events block an item.

Every path that turns stored events into model input reads these rules, so a retrain and a feed
request can never disagree about the same history:

- value: an implicit event (view, click, like, share, purchase) is worth
  `IMPLICIT_VALUES[type] × weight`, on the 1-5 scale of explicit ratings, so events and ratings
  can share one model; a `rating` event's value is its `weight` (the rating itself).
- negative events (dislike, complaint) are never part of a positive history: they carry no value.
- a `complaint` event about an item, or a triaged complaint naming the item, blocks it: the
  item is never recommended to that user again.
- a `dislike` keeps its item out of that user's feeds until a later event about the same item
  (later in time, by the events' timestamps, whatever order they arrived in; of one second,
  the one stored last) worth at least a like (`DISLIKE_LIFT_VALUE`, `lifts_dislike`) says
  their taste changed: a
  like, share or purchase of weight 1 or more, a rating of 4 or more. A view or click (seeing an
  item is not liking it), a rating below 4 or a weight-0 event leaves the dislike standing;
  taste may change, a complaint stands.
- items a feed request names in `recent_items` count as `RECENT_ITEM_TYPE` events.
- an event whose value is not positive (weight 0) says nothing about taste and is dropped: it is
  no history and lifts no dislike.

Repeated (user, item) pairs are merged by the model's `duplicates` policy, the same in the
retrain and at serve time (see `features.user_history`).

What the store can hold is decided here too (`validate_event`): ids no longer than their columns
and free of control characters, timestamps from 0 to a day past now (a far-future timestamp
would stay a user's "most recent" event forever), finite weights within bounds.

A feed request reads a bounded history, and bounded item sets however old the events behind
them (`UserItems`: what the user has seen, complained about and still dislikes, so an old view
stays seen and an old complaint still blocks its item):

- the newest `FEED_HISTORY_LIMIT` events are folded into the model (their taste);
- each item set holds at most `FEED_ITEM_LIMIT` distinct items. The store reads a set from an
  index: at most `FEED_ITEM_LIMIT` rows, then one seek per further item, so a set never costs
  more than that however many events the user has. The cap is far above any catalog a feed
  serves (MovieLens-100K has 1,682 items, MovieLens-1M
  3,706); a user past it keeps the first `FEED_ITEM_LIMIT` item ids of a set (in id order), and
  the store logs a warning when a set reaches it.
"""

from __future__ import annotations

import math
import numbers
import time
import unicodedata
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
DISLIKE_TYPE: Final = "dislike"
# What a later event must be worth to lift a dislike: as much as a like. Anything less (a view,
# a click, a mediocre rating) is not the user saying they like the item after all.
DISLIKE_LIFT_VALUE: Final = IMPLICIT_VALUES["like"]
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

# Column sizes of the event log (data.store.tables builds its columns from these): a longer id
# would be refused by PostgreSQL mid-transaction, so it is refused before the write instead.
EVENT_ID_LENGTH: Final = 128
# A user or item id, wherever it is stored (events, triage records).
ENTITY_ID_LENGTH: Final = 256
EVENT_TYPE_LENGTH: Final = 32
# Weights scale an event's value (or are a rating): finite, non-negative and bounded, so no
# single event can swamp a user's history or overflow a sum.
MAX_EVENT_WEIGHT: Final = 1_000.0
# Clients' clocks drift; a timestamp further ahead than this is a bug or an attack.
MAX_FUTURE_S: Final = 86_400
# A feed folds at most this many of a user's newest events into the model (one user with a
# million events must not stall a request) ...
FEED_HISTORY_LIMIT: Final = 500
# ... and reads at most this many distinct items of each of their item sets (`UserItems`).
FEED_ITEM_LIMIT: Final = 20_000
# Unicode categories refused in ids: control characters (NUL included, which PostgreSQL cannot
# store) and lone surrogates (which cannot be encoded for the database).
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs"})
# Category Cc as a regular expression, for checking a whole column at once (the import): a
# decoded file holds no lone surrogate. Escapes both Python's and pandas' regex engines read.
ID_CONTROL_CHARACTER: Final = r"[\x00-\x1f\x7f-\x9f]"
_SHOWN_CHARS: Final = 40  # how much of a refused value an error message quotes


class InvalidFieldError(ValueError):
    """A value the store cannot hold; the message names the field and why."""


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


def has_value(event_type: str, weight: float = 1.0) -> bool:
    """True for an event with positive value: part of the user's history, and its item seen."""
    return is_positive(event_type) and event_value(event_type, weight) > 0


def lifts_dislike(event_type: str, weight: float = 1.0) -> bool:
    """True for an event that lifts an earlier dislike of its item (worth DISLIKE_LIFT_VALUE)."""
    return is_positive(event_type) and event_value(event_type, weight) >= DISLIKE_LIFT_VALUE


def blocked_items(
    events: Iterable[tuple[str, str]], triaged_complaint_items: Iterable[str] = ()
) -> set[str]:
    """Items one user may never be recommended: the items of their blocking events
    (`(type, item_id)` pairs) and the items their triaged complaints named."""
    blocked = {item for event_type, item in events if event_type in BLOCKING_TYPES}
    return blocked | set(triaged_complaint_items)


def disliked_items(events: Iterable[tuple[str, str, float]]) -> set[str]:
    """Items whose latest dislike no later event lifted (`lifts_dislike`); `events` are
    `(type, item_id, weight)` triples, oldest first."""
    disliked: set[str] = set()
    for event_type, item, weight in events:
        if event_type == DISLIKE_TYPE:
            disliked.add(item)
        elif lifts_dislike(event_type, weight):
            disliked.discard(item)
    return disliked


@dataclass(frozen=True)
class UserItems:
    """What all of one user's events say about items, however old the events.

    seen: items of their events with value (`has_value`): a feed with `exclude_seen` leaves
    them out. complained: items of their blocking events. disliked: items whose latest dislike
    no later event lifted (`disliked_items`).
    """

    seen: frozenset[str] = frozenset()
    complained: frozenset[str] = frozenset()
    disliked: frozenset[str] = frozenset()


def user_items(events: Iterable[Event]) -> UserItems:
    """UserItems from one user's events, in the order they were stored. The store answers the
    same from its indexes without reading the events (`data.store.EventLog.user_items`)."""
    events = list(events)
    # Dislikes and likes are weighed in the order they happened: a client that was offline
    # sends old events late. The sort is stable, so events of one second keep the log's order.
    in_time = sorted(events, key=lambda e: e.timestamp)
    return UserItems(
        frozenset(e.item_id for e in events if has_value(e.type, e.weight)),
        frozenset(blocked_items((e.type, e.item_id) for e in events)),
        frozenset(disliked_items((e.type, e.item_id, e.weight) for e in in_time)),
    )


def _shown(value: str) -> str:
    """A refused value as an error message quotes it: its beginning only (it may be huge)."""
    if len(value) <= _SHOWN_CHARS:
        return repr(value)
    return f"{value[:_SHOWN_CHARS]!r}... ({len(value)} characters)"


def check_identifier(name: str, value: object, max_length: int) -> str:
    """`value` if it can be stored as the id `name`: a non-blank string of at most
    `max_length` characters, without spaces at its ends or control characters;
    InvalidFieldError otherwise."""
    check_stored_text(name, value, max_length)
    assert isinstance(value, str)  # checked above
    if value != value.strip():
        # Ids are compared exactly, and an import removes outer spaces: kept here, ' 196' would
        # be a stranger to the model that knows '196', and its feed a cold start.
        raise InvalidFieldError(
            f"{name} {_shown(value)} starts or ends with spaces: ids are compared exactly, "
            f"send {_shown(value.strip())}"
        )
    return value


def check_stored_text(name: str, value: object, max_length: int) -> str:
    """`value` if the store can hold it as the short text `name` (a label, which is matched
    folded; an id also needs `check_identifier`): a non-blank string of at most `max_length`
    characters without control characters; InvalidFieldError otherwise."""
    if not isinstance(value, str) or not value.strip():
        shown = _shown(value) if isinstance(value, str) else repr(value)[:_SHOWN_CHARS]
        raise InvalidFieldError(f"{name} must be a non-empty string, got {shown}")
    if len(value) > max_length:
        raise InvalidFieldError(
            f"{name} is {len(value)} characters long; at most {max_length} are stored"
        )
    for position, char in enumerate(value):
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise InvalidFieldError(
                f"{name} contains the control character U+{ord(char):04X} at {position}: "
                f"{_shown(value)}"
            )
    return value


# A refused timestamp is read in these finer units to see whether it is a date (`finer_unit_hint`).
_FINER_UNITS: Final = (("milliseconds", 10**3), ("microseconds", 10**6), ("nanoseconds", 10**9))
_EARLIEST_HINTED: Final = 10**8  # 1973: smaller epoch seconds are no export's dates


def finer_unit_hint(timestamp: int, latest: int) -> str:
    """': it looks like epoch milliseconds; send whole epoch seconds (1790434425)' for a
    timestamp past `latest` that is a date up to `latest` in a finer unit (what JavaScript's
    Date.now() and most event exports give), else ''. The bare bound ('at most a day past now')
    does not say why a timestamp of today is refused."""
    for unit, scale in _FINER_UNITS:
        seconds = timestamp // scale
        if _EARLIEST_HINTED <= seconds <= latest:
            return f": it looks like epoch {unit}; send whole epoch seconds ({seconds})"
    return ""


def validate_event(event: Event, now: float | None = None) -> None:
    """Refuse (InvalidFieldError) an event the log cannot hold or that cannot be true.

    `now` (epoch seconds, the current time by default) bounds the timestamp.
    """
    check_identifier("event_id", event.event_id, EVENT_ID_LENGTH)
    check_identifier("user_id", event.user_id, ENTITY_ID_LENGTH)
    check_identifier("item_id", event.item_id, ENTITY_ID_LENGTH)
    if event.type not in EVENT_TYPES:
        shown = _shown(event.type) if isinstance(event.type, str) else repr(event.type)
        raise InvalidFieldError(f"unknown event type {shown} (known: {', '.join(EVENT_TYPES)})")
    timestamp = event.timestamp
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Integral):
        raise InvalidFieldError(f"timestamp must be whole epoch seconds, got {timestamp!r}")
    latest = int((time.time() if now is None else now) + MAX_FUTURE_S)
    if not 0 <= timestamp <= latest:
        raise InvalidFieldError(
            f"timestamp must be epoch seconds from 0 to a day past now ({latest}), got "
            f"{timestamp}{finer_unit_hint(timestamp, latest)}"
        )
    weight = event.weight
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
        raise InvalidFieldError(f"weight must be a number, got {weight!r}")
    if not math.isfinite(weight) or not 0.0 <= weight <= MAX_EVENT_WEIGHT:
        raise InvalidFieldError(
            f"weight must be finite, from 0 to {MAX_EVENT_WEIGHT:g}, got {weight}"
        )
