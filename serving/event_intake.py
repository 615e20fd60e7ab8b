"""`/events`: a batch of interaction events made durable in the store's event log."""

from __future__ import annotations

import time

from data.store import Event, Store
from serving import ops_metrics
from serving.errors import ApiError
from serving.schemas.events import EventsRequest, EventsResponse


def record_events(store: Store, request: EventsRequest) -> EventsResponse:
    """Store the request's events; a re-sent event_id with the same content is a duplicate
    (counted, not stored twice), with other content a 409."""
    # An event sent without a timestamp is stamped with the time of receipt, one stamp for
    # the request; a retry of it is the same event though a second passed, so the log
    # leaves those stamps out when it compares a re-sent event_id with the stored one.
    received = int(time.time())
    stamped = {e.event_id for e in request.events if "timestamp" not in e.model_fields_set}
    batch, repeats = _one_per_id(
        [
            Event(
                e.event_id,
                e.user_id,
                e.item_id,
                e.type,
                e.timestamp if "timestamp" in e.model_fields_set else received,
                e.weight,
            )
            for e in request.events
        ]
    )
    written = store.events.add(batch, stamped_on_receipt=stamped)
    ops_metrics.events_written(written.inserted, written.duplicates + repeats)
    return EventsResponse(accepted=written.inserted, duplicates=written.duplicates + repeats)


def _one_per_id(events: list[Event]) -> tuple[list[Event], int]:
    """The batch without exact repeats, and how many there were (answered as duplicates, as a
    re-sent batch would be); one event_id with two contents is a 409, as across batches."""
    first: dict[str, Event] = {}
    for event in events:
        if first.setdefault(event.event_id, event) != event:
            raise ApiError(409, "a batch sends one event_id twice with different content")
    return list(first.values()), len(events) - len(first)
