"""Bodies of `/events`: interaction events sent back by the platform."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from data.events import EVENT_TYPES, MAX_EVENT_WEIGHT
from serving.schemas.fields import (
    Count,
    EventId,
    Identifier,
    Number,
    RequestBody,
    not_too_far_ahead,
)
from serving.settings import MAX_BATCH


def _epoch_seconds(value: object) -> object:
    # An ISO-8601 string is what most event exports hold; say what to send instead of the
    # generic "must be a JSON number".
    if isinstance(value, str):
        raise ValueError(
            "timestamp must be whole epoch seconds as a JSON number (e.g. "
            f"{int(time.time())}), not a string"
        )
    return value


class EventIn(RequestBody):
    event_id: EventId
    user_id: Identifier
    item_id: Identifier
    type: Literal[EVENT_TYPES]  # type: ignore[valid-type]
    timestamp: Annotated[
        Count, BeforeValidator(_epoch_seconds), AfterValidator(not_too_far_ahead)
    ] = Field(
        default_factory=lambda: int(time.time()),
        ge=0,
        # The bound moves with the clock, so it is said in words, not as a `maximum`: a client
        # generated from the document would keep the number and refuse every event a day later.
        description="Epoch seconds, at most a day past now; the time of receipt by default.",
    )
    weight: Number = Field(1.0, ge=0, le=MAX_EVENT_WEIGHT, allow_inf_nan=False)


class EventsRequest(RequestBody):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventsResponse(BaseModel):
    accepted: int
    duplicates: int
