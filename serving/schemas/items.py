"""Bodies of the catalog routes: items published after training (`/items`), retired and
restored (`/items/retire`, `/items/restore`)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from data.store.item_retirements import MAX_ITEMS_PER_CHANGE
from data.store.published_items import MAX_GENRES, MAX_PUBLISHED_PER_CALL, text_problem
from data.store.tables import PUBLISHED_TEXT_LENGTH, RETIREMENT_REASON_LENGTH
from serving.schemas.fields import (
    PROSE_PATTERN,
    Genre,
    Identifier,
    ItemTitle,
    RequestBody,
    RetirementReason,
)


class RestoreItemsRequest(RequestBody):
    item_ids: list[Identifier] = Field(
        min_length=1,
        max_length=MAX_ITEMS_PER_CHANGE,
        description=f"The items to change (1-{MAX_ITEMS_PER_CHANGE:,}; a repeated id counts once).",
    )


class RetireItemsRequest(RestoreItemsRequest):
    reason: RetirementReason | None = Field(
        None,
        description="Why, for the record (a moderation code, 'out of stock'); stored as sent "
        f"(at most {RETIREMENT_REASON_LENGTH} characters): never write personal data here.",
    )


class ItemsChangedResponse(BaseModel):
    changed: list[str] = Field(description="The items whose state this call changed.")
    unchanged: list[str] = Field(
        description="The items already in the state asked for (retired, or not retired)."
    )
    retired_now: int = Field(description="How many items this service holds retired now.")


class PublishedItemIn(RequestBody):
    item_id: Identifier
    title: ItemTitle  # type: ignore[valid-type]
    text: str = Field(
        "",
        max_length=PUBLISHED_TEXT_LENGTH,
        json_schema_extra={"pattern": PROSE_PATTERN},
        description="What the item is about, as the content encoder should read it "
        f"(at most {PUBLISHED_TEXT_LENGTH:,} characters).",
    )
    genres: list[Genre] = Field(default_factory=list, max_length=MAX_GENRES)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _text_is_storable(self) -> PublishedItemIn:
        if (problem := text_problem(self.text)) is not None:
            raise ValueError(problem)
        return self


class PublishItemsRequest(RequestBody):
    items: list[PublishedItemIn] = Field(min_length=1, max_length=MAX_PUBLISHED_PER_CALL)


class PublishItemsResponse(BaseModel):
    stored: list[str] = Field(description="The items stored (new, or changed).")
    unchanged: list[str] = Field(description="The items already published with this content.")
    fresh_now: int = Field(
        description="How many published items this worker serves as fresh now (those the "
        "served model does not know)."
    )
