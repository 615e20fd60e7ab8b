"""A segment's feed rule: no items of the genres a user complained about, on every feed path."""

from __future__ import annotations

import pandas as pd
import pytest

from data.events import StoredEvent
from features.user_history import user_activity
from models.recommenders import FeedRequest, FeedRules, Recommender, create_recommender, route_feed
from models.segments import SegmentsConfig

RULES = FeedRules(exclude_complained_genres=True)


@pytest.fixture(scope="module")
def ease(interactions: pd.DataFrame, items: pd.DataFrame) -> Recommender:
    return create_recommender("ease", {"regularization": 1.0}).fit(interactions, items)


def genres_of(model: Recommender, item_ids: list[str]) -> set[str]:
    return {genre for info in model.describe_items(item_ids) for genre in info.genres}


def complaint(user: str, item: str) -> list[StoredEvent]:
    return [StoredEvent("c1", user, item, "complaint", 1_700_000_000, seq=1)]


@pytest.mark.parametrize(
    ("user", "strategy"), [("u00", "personalized"), ("newcomer", "popular-fallback")]
)
def test_complained_genres_are_left_out_only_under_the_rule(
    ease: Recommender, user: str, strategy: str
) -> None:
    # i2 is Sci-Fi|Adventure; u00 (a space fan) would otherwise be shown Sci-Fi first.
    activity = user_activity(complaint(user, "i2"))
    request = FeedRequest(user, k=8)
    plain = route_feed(ease, request, activity)
    ruled = route_feed(ease, request, activity, RULES)
    assert plain.strategy == ruled.strategy == strategy
    assert genres_of(ease, [r.item_id for r in plain.items]) & {"Sci-Fi", "Adventure"}
    assert ruled.items
    assert not genres_of(ease, [r.item_id for r in ruled.items]) & {"Sci-Fi", "Adventure"}


def test_a_triaged_complaint_naming_an_item_counts_and_no_complaint_changes_nothing(
    ease: Recommender,
) -> None:
    request = FeedRequest("u06", k=5)
    triaged = user_activity([], triaged_complaint_items=["i1"])  # Romance|Drama
    got = route_feed(ease, request, triaged, RULES)
    assert not genres_of(ease, [r.item_id for r in got.items]) & {"Romance", "Drama"}
    assert route_feed(ease, request, None, RULES) == route_feed(ease, request)


def test_the_rule_is_configured_per_segment() -> None:
    config = SegmentsConfig()
    assert config.feed_rules("at_risk") == RULES
    assert config.feed_rules("core") == FeedRules()
    assert config.feed_rules(None) == config.feed_rules("no-such-tier") == FeedRules()
