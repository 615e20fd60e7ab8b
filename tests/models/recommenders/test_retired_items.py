"""Retired items (`ItemFilter.retired`): never returned on any feed path nor as a similar item,
k still filled from what remains, and looked up once per retired set, not once per request."""

from __future__ import annotations

import pandas as pd
import pytest

from features.embeddings import TextEncoder
from features.user_history import user_activity
from models.recommenders import (
    FeedRequest,
    ItemFilter,
    Recommender,
    RetiredItems,
    create_recommender,
    fitted_feeds,
    route_feed,
)
from tests.models.recommenders.test_feed_router import events

# (user, options): a known user's own scores, a known user's newer events folded in, a new user
# described by items, a cold item (content only), a text query, and nothing known at all.
PATHS = (
    ("u00", {}),
    ("u00", {"recent_items": ["i0"]}),
    ("stranger", {"recent_items": ["i0", "i2"]}),
    ("stranger", {"recent_items": ["i10"]}),
    ("stranger", {"query": "space adventure"}),
    ("stranger", {}),
)


@pytest.fixture(scope="module")
def ease(interactions: pd.DataFrame, items: pd.DataFrame) -> Recommender:
    return create_recommender("ease", {"regularization": 1.0}).fit(interactions, items)


@pytest.fixture(scope="module")
def hybrid(interactions: pd.DataFrame, items: pd.DataFrame, encoder: TextEncoder) -> Recommender:
    return create_recommender("hybrid", encoder=encoder).fit(interactions, items)


def _feed(model: Recommender, user: str, retired: RetiredItems, **options: object) -> list[str]:
    request = FeedRequest(user, k=5, filters=ItemFilter(retired=retired), **options)  # type: ignore[arg-type]
    return [r.item_id for r in route_feed(model, request).items]


@pytest.mark.parametrize("model_name", ["ease", "hybrid"])
def test_retired_items_never_appear_on_any_feed_path(
    model_name: str, request: pytest.FixtureRequest
) -> None:
    model: Recommender = request.getfixturevalue(model_name)
    for user, options in PATHS:
        if "query" in options and not model.answers_text_queries:
            continue
        if options.get("recent_items") == ["i10"] and not model.serves_cold_items:
            continue
        free = _feed(model, user, RetiredItems(), **options)
        assert free, (user, options)
        retired = RetiredItems(free[:2])
        kept = _feed(model, user, retired, **options)
        assert not set(kept) & retired.ids, (user, options)
        # The same ranking with the retired items taken out, refilled from below.
        assert kept[: len(free) - 2] == [i for i in free if i not in retired.ids][: len(kept)]
        assert len(kept) >= min(len(free), 5) - 2


def test_a_feed_still_returns_k_items_when_enough_remain(ease: Recommender) -> None:
    popular = _feed(ease, "stranger", RetiredItems())
    assert len(popular) == 5
    retired = RetiredItems(popular[:3])
    assert len(_feed(ease, "stranger", retired)) == 5
    everything = RetiredItems(ease.catalog.items.ids)
    assert _feed(ease, "stranger", everything) == []


@pytest.mark.parametrize("model_name", ["ease", "hybrid"])
def test_similar_items_leave_retired_ones_out_and_a_retired_seed_still_answers(
    model_name: str, request: pytest.FixtureRequest
) -> None:
    model: Recommender = request.getfixturevalue(model_name)
    free = [r.item_id for r in model.similar_items("i0", 4)]
    retired = RetiredItems({"i0", free[0]})
    kept = [r.item_id for r in model.similar_items("i0", 4, ItemFilter(retired=retired))]
    assert kept and not set(kept) & retired.ids
    assert kept[:2] == free[1:3]


def test_retired_items_join_the_other_filters(ease: Recommender) -> None:
    retired = RetiredItems({"i2"})
    filters = ItemFilter(include_genres={"Sci-Fi"}, exclude_item_ids={"i4"}, retired=retired)
    ids = [r.item_id for r in ease.popular_items(10, filters)]
    assert ids and not {"i2", "i4"} & set(ids)
    assert all("Sci-Fi" in info.genres for info in ease.describe_items(ids))
    blocked = user_activity(events("u00", ("complaint", "i6")))
    feed = route_feed(ease, FeedRequest("u00", k=5, filters=ItemFilter(retired=retired)), blocked)
    assert not {"i2", "i6"} & {r.item_id for r in feed.items}


def test_batch_feeds_leave_retired_items_out(ease: Recommender) -> None:
    users = ["u00", "u07"]
    free = fitted_feeds(ease, users, k=3)
    for user in users:
        retired = RetiredItems({free[user][0].item_id})
        kept = fitted_feeds(ease, users, k=3, retired=retired)
        assert not any({r.item_id for r in kept[u]} & retired.ids for u in users)
        assert kept[user][:2] == free[user][1:]


def test_a_retired_set_is_looked_up_once_not_per_request(
    ease: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = ease.catalog
    looked_up: list[object] = []
    lookup = catalog.items.lookup
    monkeypatch.setattr(catalog.items, "lookup", lambda ids: looked_up.append(ids) or lookup(ids))
    retired = RetiredItems({"i0", "i2"})
    for _ in range(5):
        _feed(ease, "stranger", retired)
        _feed(ease, "u00", retired)
    assert sum(ids is retired.ids for ids in looked_up) == 1
    mask = catalog.allowed_items(ItemFilter(retired=retired))
    assert mask is not None and not mask.flags.writeable
    again = RetiredItems({"i0", "i2"})  # a new set (the served one changed): looked up again
    _feed(ease, "stranger", again)
    assert sum(ids is again.ids for ids in looked_up) == 1
