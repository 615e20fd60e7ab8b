"""recommend_feed: the routing every feed request goes through (known, folded-in, cold, blocked)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.embeddings import TextEncoder
from models.recommenders import ItemFilter, create_recommender
from models.recommenders.feed import popular_items, recommend_feed, training_history

SPACE_IDS = {"i0", "i2", "i4", "i6", "i8"}


@pytest.fixture
def ease(interactions: pd.DataFrame, items: pd.DataFrame):
    return create_recommender("ease", {"regularization": 1.0}).fit(interactions, items)


@pytest.fixture
def hybrid(interactions: pd.DataFrame, items: pd.DataFrame, encoder: TextEncoder):
    return create_recommender("hybrid", encoder=encoder).fit(interactions, items)


def test_known_user_is_personalized_and_never_gets_seen_items(ease) -> None:
    recs, strategy = recommend_feed(ease, "u00", k=3)
    seen, _ = training_history(ease, "u00")
    assert strategy == "personalized"
    assert recs and not {r.item_id for r in recs} & set(seen)
    assert recs == ease.recommend("u00", k=3)


def test_new_events_of_a_known_user_are_folded_in(ease) -> None:
    before, _ = recommend_feed(ease, "u00", k=3)
    after, strategy = recommend_feed(ease, "u00", k=3, recent_items=[before[0].item_id])
    assert strategy == "personalized"
    assert before[0].item_id not in {r.item_id for r in after}


def test_brand_new_user_with_items_gets_their_side(ease) -> None:
    recs, strategy = recommend_feed(ease, "newcomer", k=3, recent_items=["i0", "i2"])
    assert strategy == "personalized"
    assert {r.item_id for r in recs} <= SPACE_IDS - {"i0", "i2"}


def test_blocked_items_never_appear_on_any_path(ease, hybrid) -> None:
    for model in (ease, hybrid):
        for kwargs in ({}, {"recent_items": ["i0"]}, {"query": "space"}):
            user = "u00" if not kwargs else "stranger"
            free, _ = recommend_feed(model, user, k=5, **kwargs)
            blocked = free[0].item_id
            recs, _ = recommend_feed(model, user, k=5, blocked_items=[blocked], **kwargs)
            assert blocked not in {r.item_id for r in recs}


def test_unknown_user_without_signal_falls_back_to_popular(ease) -> None:
    recs, strategy = recommend_feed(ease, "stranger", k=4, recent_items=["no-such-item"])
    assert strategy == "popular-fallback"
    assert recs == popular_items(ease, 4, None)


def test_text_query_uses_content(hybrid) -> None:
    recs, strategy = recommend_feed(hybrid, "stranger", k=3, query="space exploration")
    assert strategy == "cold-start-content"
    assert recs[0].item_id in SPACE_IDS | {"i10"}


def test_include_item_ids_restricts_candidates(ease) -> None:
    only = ItemFilter(include_item_ids={"i6", "i8"})
    recs, _ = recommend_feed(ease, "u00", k=5, filters=only)
    assert {r.item_id for r in recs} <= {"i6", "i8"}
