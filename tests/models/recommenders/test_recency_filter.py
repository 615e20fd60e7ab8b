"""Recency filters: a feed asked for recent items returns only items published since then."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.embeddings import TextEncoder
from models.recommenders import (
    FeedRequest,
    ItemFilter,
    create_recommender,
    load_recommender,
    route_feed,
)
from models.recommenders.fresh_items import FreshItems
from models.recommenders.publication_times import NoPublicationTimesError

DAY = 86_400


def dated_items(items: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """`items` published one a day, i0 first; i10 with no known time; and the 6th day's time."""
    start = 1_760_000_000
    times = [start + DAY * int(i[1:]) for i in items["item_id"]]
    dated = items.assign(published_at=times)
    dated.loc[dated["item_id"] == "i10", "published_at"] = 0
    return dated, start + 6 * DAY


@pytest.mark.parametrize("model_name", ["ease", "hybrid"])
def test_a_recency_filter_keeps_only_items_published_since(
    interactions: pd.DataFrame,
    items: pd.DataFrame,
    encoder: TextEncoder,
    model_name: str,
    tmp_path: Path,
) -> None:
    dated, since = dated_items(items)
    options = {"encoder": encoder} if model_name == "hybrid" else {}
    model = create_recommender(model_name, **options).fit(interactions, dated)
    model.save(tmp_path / "model")
    recent = {"i6", "i7", "i8", "i9"}
    recency = ItemFilter(published_after=since)
    for served in (model, load_recommender(tmp_path / "model")):
        everything = served.catalog.n_items
        paths = [
            {"user_id": "u00"},  # known user
            {"user_id": "new", "recent_items": ["i0"]},  # folded in
            {"user_id": "nobody"},  # popular fallback
        ]
        if model_name == "hybrid":
            paths.append({"user_id": "nobody", "query": "space adventure"})
        for path in paths:
            request = FeedRequest(k=everything, exclude_seen=False, filters=recency, **path)
            ids = {r.item_id for r in route_feed(served, request).items}
            assert ids and ids <= recent, path


def test_a_recency_filter_on_a_catalog_without_times_is_refused(
    interactions: pd.DataFrame, items: pd.DataFrame
) -> None:
    model = create_recommender("ease").fit(interactions, items)
    assert model.catalog.published_at is None
    with pytest.raises(NoPublicationTimesError, match="published_at"):
        route_feed(model, FeedRequest("u00", filters=ItemFilter(published_after=1)))


def test_fresh_items_obey_the_recency_filter() -> None:
    fresh = FreshItems(
        ids=("old", "new"),
        vectors=np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32),
        titles=("Old", "New"),
        genres=((), ()),
        published_at=np.array([100.0, 200.0]),
        share=0.5,
    )
    taste = np.array([1.0, 0.0])
    picked = fresh.pick(2, taste, set(), ItemFilter(published_after=150), 0.0)
    assert [r.item_id for r in picked] == ["new"]
    assert len(fresh.pick(2, taste, set(), None, 0.0)) == 2


def test_an_items_publication_time_is_in_its_description(
    interactions: pd.DataFrame, items: pd.DataFrame, tmp_path: Path
) -> None:
    dated, since = dated_items(items)
    model = create_recommender("ease").fit(interactions, dated)
    model.save(tmp_path / "model")
    for served in (model, load_recommender(tmp_path / "model")):
        six, unknown, stranger = served.describe_items(["i6", "i10", "nope"])
        assert (six.published_at, unknown.published_at, stranger.published_at) == (
            since,
            None,
            None,
        )
    undated = create_recommender("ease").fit(interactions, items)
    assert undated.describe_items(["i6"])[0].published_at is None
    fresh = FreshItems(("new",), np.ones((1, 2), np.float32), ("New",), ((),), np.array([1.5e9]))
    assert fresh.describe("new").published_at == 1_500_000_000
