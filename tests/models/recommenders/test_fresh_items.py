"""Fresh items (published after the fit): a bounded share of feed slots by content taste, cold
starts from their content, similar items both ways, every filter obeyed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.embeddings import TextEncoder
from features.item_text import item_text
from models.recommenders import (
    FeedRequest,
    ItemFilter,
    Recommendation,
    Recommender,
    RetiredItems,
    create_recommender,
    route_feed,
)
from models.recommenders.fresh_items import FreshItems, blend, similar_with_fresh

PUBLISHED = [
    ("f-space", "Orbit of the Lost Fleet", "Starships and alien worlds.", ("Sci-Fi", "Action")),
    ("f-love", "A Kiss in Venice", "Two strangers fall in love.", ("Romance",)),
    ("f-cook", "Weeknight Soups", "Twelve recipes for cold evenings.", ("Cooking",)),
]


@pytest.fixture(scope="module")
def hybrid(interactions: pd.DataFrame, items: pd.DataFrame, encoder: TextEncoder) -> Recommender:
    return create_recommender("hybrid", encoder=encoder).fit(interactions, items)


@pytest.fixture(scope="module")
def fresh(hybrid: Recommender) -> FreshItems:
    texts = [item_text(title, "|".join(genres), text) for _, title, text, genres in PUBLISHED]
    return FreshItems(
        ids=tuple(row[0] for row in PUBLISHED),
        vectors=hybrid.embed_texts(texts),
        titles=tuple(row[1] for row in PUBLISHED),
        genres=tuple(row[3] for row in PUBLISHED),
        published_at=np.array([1.0, 2.0, 3.0]),  # f-cook is the newest
    )


def ids(recs: list[Recommendation]) -> list[str]:
    return [rec.item_id for rec in recs]


def feed(model: Recommender, fresh: FreshItems, user: str, **options: object) -> tuple:
    answer = route_feed(model, FeedRequest(user, **options), fresh=fresh)  # type: ignore[arg-type]
    return ids(answer.items), answer.strategy


def test_fresh_items_take_a_bounded_share_spread_through_the_list() -> None:
    ours = [Recommendation(f"m{i}", 1.0 - i / 10) for i in range(10)]
    two = [Recommendation("a", 0.9), Recommendation("b", 0.8)]
    merged = ids(blend(ours, two, 10))
    assert len(merged) == 10 and merged.index("a") == 3 and merged.index("b") == 7
    assert [i for i in merged if i.startswith("m")] == [f"m{i}" for i in range(8)]
    assert ids(blend(ours[:1], two, 10)) == ["m0", "a", "b"]  # the model's item still leads
    assert FreshItems(("x",), np.ones((1, 2), np.float32), ("t",), ((),), np.zeros(1)).slots(4) == 0


def test_a_space_fan_gets_the_new_space_item_and_not_the_others(
    hybrid: Recommender, fresh: FreshItems
) -> None:
    items, strategy = feed(hybrid, fresh, "u00", k=10)
    assert strategy == "personalized" and len(items) <= 10
    assert "f-space" in items and not {"f-love", "f-cook"} & set(items)
    without = ids(route_feed(hybrid, FeedRequest("u00", k=10)).items)
    assert [i for i in items if i != "f-space"] == without[: len(items) - 1]


def test_a_stranger_gets_the_newest_and_a_query_the_closest(
    hybrid: Recommender, fresh: FreshItems
) -> None:
    items, strategy = feed(hybrid, fresh, "stranger", k=10)
    assert strategy == "popular-fallback"
    assert [i for i in items if i.startswith("f-")] == ["f-cook", "f-love"]  # newest first
    items, strategy = feed(hybrid, fresh, "stranger", k=10, query="space battles")
    assert strategy == "cold-start-content" and "f-space" in items and "f-cook" not in items


def test_a_history_of_fresh_items_alone_is_a_content_cold_start(
    hybrid: Recommender, fresh: FreshItems
) -> None:
    items, strategy = feed(hybrid, fresh, "stranger", k=5, recent_items=["f-space"])
    assert strategy == "cold-start-content"
    assert "f-space" not in items  # seen
    assert set(items[:3]) <= {"i0", "i2", "i4", "i6", "i8", "i10"}
    short, strategy = feed(hybrid, fresh, "stranger", k=3, recent_items=["f-space"])
    assert strategy == "cold-start-content" and short == items[:3]  # no fresh share, same start


def test_fresh_items_obey_every_filter(hybrid: Recommender, fresh: FreshItems) -> None:
    retired = ItemFilter(retired=RetiredItems({"f-cook"}))
    items, _ = feed(hybrid, fresh, "stranger", k=10, filters=retired)
    assert "f-cook" not in items and "f-love" in items
    romance_only = ItemFilter(include_genres={"romance"})
    items, _ = feed(hybrid, fresh, "stranger", k=10, filters=romance_only)
    assert "f-love" in items and "f-cook" not in items
    items, _ = feed(hybrid, fresh, "u00", k=10, filters=ItemFilter(exclude_item_ids={"f-space"}))
    assert "f-space" not in items


def test_similar_items_reach_across_the_fresh_and_the_catalog(
    hybrid: Recommender, fresh: FreshItems
) -> None:
    from_fresh = ids(similar_with_fresh(hybrid, "f-space", 5, None, fresh))
    assert from_fresh and "f-space" not in from_fresh
    assert set(from_fresh) & {"i0", "i2", "i4", "i6", "i10"}
    from_catalog = ids(similar_with_fresh(hybrid, "i10", 10, None, fresh))
    assert "f-space" in from_catalog and "f-cook" not in from_catalog


def test_a_model_without_content_leaves_fresh_items_out(
    interactions: pd.DataFrame, fresh: FreshItems
) -> None:
    ease = create_recommender("ease", {"regularization": 1.0}).fit(interactions)
    items, _ = feed(ease, fresh, "u00", k=10)
    assert not {"f-space", "f-love", "f-cook"} & set(items)
