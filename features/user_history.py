"""A user's history as a model sees it: stored events valued and merged one way everywhere.

The retrain turns the whole event log into training interactions (`event_interactions`); a feed
request turns one user's events into a `UserActivity` and merges it with what the model saw at
fit time (`merge_history`). Both value events with `positive_interactions` (the rules of
`data.events`) and merge a repeated (user, item) pair by the model's `duplicates` policy with
`features.interactions.deduplicate`, so the same stored history gives the same interaction row
in a retrain and in a feed's fold-in. A feed request reads one user's few events: it works on
plain records and builds a frame only when a pair repeats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import schemas as S
from data.events import (
    EVENT_SEQ,
    RECENT_ITEM_TYPE,
    StoredEvent,
    UserItems,
    event_value,
    is_positive,
    user_items,
)
from features.interactions import DuplicatePolicy, deduplicate

INTERACTION_COLUMNS = [S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP, EVENT_SEQ]
# Rows the model was fitted on carry no timestamp of their own: they precede any new event, so
# the "last" policy lets a newer event revise them.
FITTED_TIMESTAMP = -1


@dataclass(frozen=True)
class Interaction:
    """One positive event as model input: its value (see data.events) and log position."""

    user_id: str
    item_id: str
    value: float
    timestamp: int
    seq: int


def positive_interactions(events: Iterable[StoredEvent]) -> list[Interaction]:
    """The events that belong in a positive history, valued; negative or valueless ones are
    left out."""
    interactions = []
    for event in events:
        if not is_positive(event.type):
            continue
        value = event_value(event.type, event.weight)
        if value > 0:
            interactions.append(
                Interaction(event.user_id, event.item_id, value, event.timestamp, event.seq)
            )
    return interactions


def event_interactions(events: Iterable[StoredEvent]) -> pd.DataFrame:
    """Positive events as a canonical interactions frame (`rating` = value, plus `event_seq`),
    for training."""
    rows = [
        (i.user_id, i.item_id, i.value, i.timestamp, i.seq) for i in positive_interactions(events)
    ]
    return S.conform(pd.DataFrame(rows, columns=INTERACTION_COLUMNS), S.Kind.INTERACTIONS)


@dataclass(frozen=True)
class UserHistory:
    """One user's items and their (merged, positive) interaction values."""

    items: tuple[str, ...] = ()
    values: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class UserActivity:
    """What the event store knows about one user that a feed request needs.

    interactions: their positive events as interactions, oldest first (a feed reads their
    newest events only, see data.events).
    blocked: items they may never be recommended (complained about).
    disliked: items they disliked and did not like again since: kept out of their feeds.
    seen: items of all their events with value: kept out of feeds that exclude seen items.
    """

    interactions: tuple[Interaction, ...] = ()
    blocked: frozenset[str] = frozenset()
    disliked: frozenset[str] = frozenset()
    seen: frozenset[str] = frozenset()


def user_activity(
    events: Sequence[StoredEvent],
    triaged_complaint_items: Iterable[str] = (),
    items: UserItems | None = None,
) -> UserActivity:
    """One user's stored events, the items of their triaged complaints and what all their
    events say about items (`items`, as the store reads it; by default what `events` say,
    for a caller holding all of them) as a UserActivity."""
    items = user_items(events) if items is None else items
    return UserActivity(
        tuple(positive_interactions(events)),
        items.complained | frozenset(triaged_complaint_items),
        items.disliked,
        items.seen,
    )


def newer_than(
    interactions: Sequence[Interaction],
    events_through: int,
    unseen: AbstractSet[int] = frozenset(),
) -> list[Interaction]:
    """The interactions a model has not seen: after log position `events_through`, or at one of
    the `unseen` positions below it (events that committed after training read past them)."""
    return [i for i in interactions if i.seq > events_through or i.seq in unseen]


def merge_history(
    fitted: UserHistory,
    new: Sequence[Interaction],
    recent_items: Sequence[str] = (),
    duplicates: DuplicatePolicy = "sum",
) -> UserHistory:
    """The fitted history merged with newer interactions, then the request's recent items.

    `new` holds interactions the model was not fitted on; a repeated item merges by
    `duplicates`, as the retrain would merge it. A recent item already in the history adds
    nothing (the client may resend what the store holds); another counts as a
    RECENT_ITEM_TYPE event.
    """
    items = [*fitted.items, *(i.item_id for i in new)]
    values = [*fitted.values, *(i.value for i in new)]
    if len(set(items)) < len(items):
        timestamps = [FITTED_TIMESTAMP] * len(fitted) + [i.timestamp for i in new]
        items, values = _merge_repeats(items, values, timestamps, duplicates)
    present = set(items)
    for item in dict.fromkeys(recent_items):
        if item not in present:
            items.append(item)
            values.append(event_value(RECENT_ITEM_TYPE))
    return UserHistory(tuple(items), tuple(values))


def _merge_repeats(
    items: list[str], values: list[float], timestamps: list[int], duplicates: DuplicatePolicy
) -> tuple[list[str], list[float]]:
    """One user's rows merged as `features.interactions.deduplicate` merges them.

    On plain lists: a feed merges a handful of rows, and building a frame to group them cost
    more than the rest of the request. "error" (and an unknown policy) go through
    `deduplicate` itself, for its exact refusal.
    """
    if duplicates == "last":  # latest timestamp wins, ties by row order; sorted by timestamp
        order = sorted(range(len(items)), key=lambda row: (timestamps[row], row))
        last = {items[row]: row for row in order}
        kept = [row for row in order if last[items[row]] == row]
        return [items[row] for row in kept], [values[row] for row in kept]
    if duplicates in ("sum", "max"):  # groups in order of first appearance
        groups: dict[str, list[float]] = {}
        for item, value in zip(items, values, strict=True):
            groups.setdefault(item, []).append(float(value))
        merge = math.fsum if duplicates == "sum" else max
        return list(groups), [float(merge(group)) for group in groups.values()]
    rows = pd.DataFrame(
        {
            S.USER_ID: "",
            S.ITEM_ID: items,
            S.RATING: np.asarray(values, dtype=np.float64),
            S.TIMESTAMP: timestamps,
        }
    )
    merged = deduplicate(rows, duplicates)  # raises for "error" and unknown policies
    return merged[S.ITEM_ID].astype(str).tolist(), merged[S.RATING].astype(float).tolist()
