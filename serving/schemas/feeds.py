"""Bodies of the feed routes: `/recommend` and `/similar_items`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, model_validator

from serving.schemas.fields import Count, Identifier, RequestBody, no_text_nor_bool

# Recency filters' bounds: ten years of age, and times below 1e11 s (a millisecond value such
# as Date.now() gives is larger, and is refused rather than read as the year 5138).
MAX_AGE_DAYS = 3_650
MAX_PUBLISHED_AFTER = 100_000_000_000


class Filters(RequestBody):
    include_genres: list[str] = Field(default_factory=list, max_length=100)
    exclude_genres: list[str] = Field(default_factory=list, max_length=100)
    include_item_ids: list[Identifier] = Field(default_factory=list, max_length=10_000)
    exclude_item_ids: list[Identifier] = Field(default_factory=list, max_length=10_000)
    # The bounds before the validator, so they reach the schema as JSON Schema's keywords.
    published_after: (
        Annotated[int, Field(ge=0, lt=MAX_PUBLISHED_AFTER), BeforeValidator(no_text_nor_bool)]
        | None
    ) = Field(
        None,
        description="Only items published at or after this time (epoch seconds); items whose "
        "publication time is unknown are left out. A 409 if the served model's items have none.",
    )
    max_age_days: (
        Annotated[
            float,
            Field(gt=0, le=MAX_AGE_DAYS, allow_inf_nan=False),
            BeforeValidator(no_text_nor_bool),
        ]
        | None
    ) = Field(
        None,
        description="Only items published within this many days before now (e.g. 7); as "
        "published_after, which it replaces (give one of the two).",
    )

    @model_validator(mode="after")
    def _one_recency_bound(self) -> Filters:
        if self.published_after is not None and self.max_age_days is not None:
            raise ValueError("give published_after or max_age_days, not both")
        return self

    def published_since(self, now: float) -> int | None:
        """The earliest publication time these filters admit (None: any)."""
        if self.max_age_days is not None:
            return int(now - self.max_age_days * 86_400)
        return self.published_after


class RecommendRequest(RequestBody):
    user_id: Identifier
    k: Count = Field(10, ge=1, le=100)
    exclude_seen: StrictBool = True
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
    published_at: int | None = Field(
        None,
        description="When the item was published (epoch seconds), from the items file's "
        "published_at or, for a fresh item, when POST /items stored it; null: unknown.",
    )
    fresh: bool = Field(
        False,
        description="Published after the model was trained (POST /items): its score is the "
        "cosine of its content to the user's taste, not the model's score.",
    )


class RecommendResponse(BaseModel):
    user_id: str
    items: list[RecommendedItem]
    strategy: Literal["personalized", "cold-start-content", "popular-fallback"]
    model: ModelRef


class SimilarItemsRequest(RequestBody):
    item_id: Identifier
    k: Count = Field(10, ge=1, le=100)


class SimilarItemsResponse(BaseModel):
    item_id: str
    items: list[RecommendedItem]
    model: ModelRef
