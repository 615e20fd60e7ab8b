"""What the feed routes add around the model: the request's filters as the model reads them,
and the items of the answer described (title, genres, publication time, fresh or not)."""

from __future__ import annotations

import time

from models.recommenders import ItemFilter, Recommendation, Recommender, RetiredItems
from models.recommenders.fresh_items import FreshItems, describe_with_fresh
from models.recommenders.publication_times import NoPublicationTimesError
from serving.errors import ApiError
from serving.schemas.feeds import Filters, RecommendedItem


def item_filter(filters: Filters | None, retired: RetiredItems, model: Recommender) -> ItemFilter:
    """The items a feed may hold: the request's filters, never a retired item; a 409 for a
    recency filter when the served model's items have no publication times."""
    if filters is None:
        return ItemFilter(retired=retired)
    admitted = ItemFilter(
        set(filters.include_genres),
        set(filters.exclude_genres),
        set(filters.exclude_item_ids),
        set(filters.include_item_ids),
        retired,
        filters.published_since(time.time()),
    )
    if admitted.published_after is not None and model.catalog.published_at is None:
        raise ApiError(409, str(NoPublicationTimesError()))
    return admitted


def described_items(
    model: Recommender, recs: list[Recommendation], fresh: FreshItems | None = None
) -> list[RecommendedItem]:
    """The recommendations as the answer lists them."""
    infos = describe_with_fresh(model, fresh, [rec.item_id for rec in recs])
    return [
        RecommendedItem(
            item_id=rec.item_id,
            score=rec.score,
            title=info.title,
            genres=list(info.genres),
            published_at=info.published_at,
            fresh=fresh is not None and rec.item_id in fresh,
        )
        for rec, info in zip(recs, infos, strict=True)
    ]
