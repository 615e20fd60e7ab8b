"""Request and response bodies of the HTTP API. Validation here turns bad input into a 400
with a message naming the field, before any model runs."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from data.events import EVENT_TYPES
from models.triage.schema import TriageResult
from serving.settings import MAX_BATCH, MAX_TEXT_BYTES

Identifier = Annotated[str, Field(min_length=1, max_length=256)]


def _within_size(text: str) -> str:
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise ValueError(f"text is {size:,} bytes; the limit is {MAX_TEXT_BYTES:,} (100 KB)")
    return text


TriageText = Annotated[str, AfterValidator(_within_size)]


class _Body(BaseModel):
    # hide_input_in_errors: a refused body's values (a text's beginning) never reach the error
    # message, which BentoML logs with its traceback.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class Filters(_Body):
    include_genres: list[str] = Field(default_factory=list, max_length=100)
    exclude_genres: list[str] = Field(default_factory=list, max_length=100)
    include_item_ids: list[Identifier] = Field(default_factory=list, max_length=10_000)
    exclude_item_ids: list[Identifier] = Field(default_factory=list, max_length=10_000)


class RecommendRequest(_Body):
    user_id: Identifier
    k: int = Field(10, ge=1, le=100)
    exclude_seen: bool = True
    filters: Filters | None = None
    recent_items: list[Identifier] = Field(
        default_factory=list,
        max_length=500,
        description="Items a user the model does not know has engaged with (cold start).",
    )
    query: str | None = Field(
        None, max_length=1_000, description="Free-text interests for a brand-new user."
    )


class ModelRef(BaseModel):
    name: str
    version: str
    source: str  # "registry" or "local-cache"


class RecommendedItem(BaseModel):
    item_id: str
    score: float
    title: str | None = None
    genres: list[str] = Field(default_factory=list)


class RecommendResponse(BaseModel):
    user_id: str
    items: list[RecommendedItem]
    strategy: Literal["personalized", "cold-start-content", "popular-fallback"]
    model: ModelRef


class SimilarItemsRequest(_Body):
    item_id: Identifier
    k: int = Field(10, ge=1, le=100)


class SimilarItemsResponse(BaseModel):
    item_id: str
    items: list[RecommendedItem]
    model: ModelRef


class TriageRequest(_Body):
    text: TriageText
    language: str | None = Field(None, max_length=16)
    customer_id: Identifier | None = None
    item_id: Identifier | None = Field(None, description="The item the feedback is about.")


class TriageResponse(BaseModel):
    triage_id: str | None = Field(None, description="Set when the triage was recorded.")
    result: TriageResult


class TriageBatchRequest(_Body):
    texts: list[TriageText] = Field(min_length=1, max_length=MAX_BATCH)
    language: str | None = Field(None, max_length=16)


class TriageBatchResponse(BaseModel):
    results: list[TriageResult]


class EventIn(_Body):
    event_id: Identifier
    user_id: Identifier
    item_id: Identifier
    type: Literal[EVENT_TYPES]  # type: ignore[valid-type]
    timestamp: int = Field(default_factory=lambda: int(time.time()), ge=0)
    weight: float = Field(1.0, ge=0, le=1_000)


class EventsRequest(_Body):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventsResponse(BaseModel):
    accepted: int
    duplicates: int


class CorrectionRequest(_Body):
    triage_id: Identifier
    field: Literal["sentiment", "is_complaint", "reason", "category", "urgency", "queue"]
    correct_label: Identifier
    agent: Identifier
    correction_id: Identifier | None = None


class CorrectionResponse(BaseModel):
    correction_id: str
    stored: bool
