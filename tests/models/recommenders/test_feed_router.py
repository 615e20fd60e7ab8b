"""route_feed: the one place a feed's strategy is decided (known, folded-in, cold, blocked)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from data.events import StoredEvent, user_items
from features.embeddings import TextEncoder
from features.user_history import UserActivity, event_interactions, newer_than, user_activity
from models.recommenders import (
    FeedRequest,
    ItemFilter,
    Recommender,
    create_recommender,
    feed_history,
    load_recommender,
    route_feed,
)

SPACE_IDS = {"i0", "i2", "i4", "i6", "i8"}


def events(user: str, *rows: tuple[str, str], first_seq: int = 1) -> list[StoredEvent]:
    """Stored events of `user` from (type, item) pairs, in log order."""
    return [
        StoredEvent(f"e{seq}", user, item, kind, 1_700_000_000 + seq, seq=seq)
        for seq, (kind, item) in enumerate(rows, start=first_seq)
    ]


def feed_ids(model: Recommender, user: str, activity: UserActivity | None = None, **options):
    feed = route_feed(model, FeedRequest(user, **options), activity)
    return [r.item_id for r in feed.items], feed.strategy


@pytest.fixture(scope="module")
def ease(interactions: pd.DataFrame, items: pd.DataFrame) -> Recommender:
    return create_recommender("ease", {"regularization": 1.0}).fit(interactions, items)


@pytest.fixture(scope="module")
def hybrid(interactions: pd.DataFrame, items: pd.DataFrame, encoder: TextEncoder) -> Recommender:
    return create_recommender("hybrid", encoder=encoder).fit(interactions, items)


def test_known_user_is_personalized_and_never_gets_seen_items(ease: Recommender) -> None:
    feed = route_feed(ease, FeedRequest("u00", k=3))
    seen = set(ease.catalog.history_of("u00").items)
    assert feed.strategy == "personalized"
    assert feed.items and not {r.item_id for r in feed.items} & seen
    assert feed.items == ease.recommend("u00", k=3)


def test_new_events_of_a_known_user_are_folded_in(ease: Recommender) -> None:
    before, _ = feed_ids(ease, "u00", k=3)
    assert before
    for activity, recent in (
        (None, [before[0]]),
        (user_activity(events("u00", ("like", before[0]))), []),
    ):
        after, strategy = feed_ids(ease, "u00", activity, k=3, recent_items=recent)
        assert strategy == "personalized"
        assert after and before[0] not in after


def test_brand_new_user_with_items_gets_their_side(ease: Recommender) -> None:
    ids, strategy = feed_ids(ease, "newcomer", k=3, recent_items=["i0", "i2"])
    assert strategy == "personalized"
    assert ids and set(ids) <= SPACE_IDS - {"i0", "i2"}


@pytest.mark.parametrize("model_name", ["ease", "hybrid"])
def test_blocked_items_never_appear_on_any_path(
    model_name: str, request: pytest.FixtureRequest
) -> None:
    model: Recommender = request.getfixturevalue(model_name)
    for options in ({}, {"recent_items": ["i0"]}, {"query": "space"}):
        user = "u00" if not options else "stranger"
        free, _ = feed_ids(model, user, k=5, **options)
        assert free
        by_event = user_activity(events(user, ("complaint", free[0])))
        by_triage = user_activity(events(user), triaged_complaint_items=[free[0]])
        by_dislike = user_activity(events(user, ("dislike", free[0])))
        for activity in (by_event, by_triage, by_dislike):
            assert free[0] in activity.blocked | activity.disliked
            ids, _ = feed_ids(model, user, activity, k=5, **options)
            assert ids and free[0] not in ids
            ids, _ = feed_ids(model, user, activity, k=5, exclude_seen=False, **options)
            assert ids and free[0] not in ids
        # A like after the dislike: taste changed, the item may come back.
        liked_again = user_activity(events(user, ("dislike", free[0]), ("like", free[0])))
        assert not liked_again.disliked


def test_items_of_events_older_than_the_folded_in_ones_stay_seen(ease: Recommender) -> None:
    """Regression: a feed left out only the items of a user's newest (folded-in) events, so
    a user with more events than that got their oldest views back."""
    viewed, _ = feed_ids(ease, "stranger", k=4)
    history = events("stranger", *(("view", item) for item in viewed))
    newest = history[-1:]  # what the store's bounded read folds in
    activity = user_activity(newest, items=user_items(history))
    assert activity.seen == set(viewed)
    ids, _ = feed_ids(ease, "stranger", activity, k=5)
    assert ids and not set(ids) & set(viewed)
    ids, _ = feed_ids(ease, "stranger", activity, k=5, exclude_seen=False)
    assert set(ids) & set(viewed[:-1])  # not blocked: only seen


def test_only_an_event_worth_a_like_brings_a_disliked_item_back(ease: Recommender) -> None:
    """Regression: a disliked item came back after a `like` of weight 0 (or a 1-star rating, a
    view), though such an event says nothing about liking it."""
    free, _ = feed_ids(ease, "stranger", k=5, exclude_seen=False)
    item = free[0]

    def after_dislike(kind: str, weight: float) -> UserActivity:
        return user_activity(
            [
                StoredEvent("e1", "stranger", item, "dislike", 1_700_000_001, 1.0, 1),
                StoredEvent("e2", "stranger", item, kind, 1_700_000_002, weight, 2),
            ]
        )

    for kind, weight in (("like", 0.0), ("rating", 1.0), ("view", 1.0)):
        ids, _ = feed_ids(ease, "stranger", after_dislike(kind, weight), k=5, exclude_seen=False)
        assert ids and item not in ids, (kind, weight)
    assert not after_dislike("like", 1.0).disliked  # a like says their taste changed


def test_a_blank_query_is_the_popular_fallback(hybrid: Recommender) -> None:
    for blank in ("   ", "\u00a0"):
        ids, strategy = feed_ids(hybrid, "stranger", k=3, query=blank)
        assert strategy == "popular-fallback" and len(ids) == 3


def test_unknown_user_without_signal_falls_back_to_popular(ease: Recommender) -> None:
    feed = route_feed(ease, FeedRequest("stranger", k=4, recent_items=["no-such-item"]))
    assert feed.strategy == "popular-fallback"
    assert feed.items == ease.popular_items(4)


def test_complaints_block_items_but_give_no_history(ease: Recommender) -> None:
    popular = [r.item_id for r in ease.popular_items(2)]
    activity = user_activity(events("stranger", *(("complaint", item) for item in popular)))
    ids, strategy = feed_ids(ease, "stranger", activity, k=4)
    assert strategy == "popular-fallback"
    assert len(ids) == 4 and not set(ids) & set(popular)


def test_text_query_uses_content(hybrid: Recommender) -> None:
    ids, strategy = feed_ids(hybrid, "stranger", k=3, query="space exploration")
    assert strategy == "cold-start-content"
    assert ids and ids[0] in SPACE_IDS | {"i10"}


def test_include_item_ids_restricts_candidates(ease: Recommender) -> None:
    # u00 has seen i6 and i8, not i0 (the film of their side they skipped) nor i1
    only = ItemFilter(include_item_ids={"i0", "i1", "i6", "i8"})
    ids, _ = feed_ids(ease, "u00", k=5, filters=only)
    assert ids and set(ids) <= {"i0", "i1"}


@pytest.mark.parametrize(
    ("user", "recent", "query", "strategy", "expected"),
    [
        ("u02", (), None, "personalized", {"i4"}),
        ("newcomer", ("i1", "i5"), None, "personalized", {"i3", "i7", "i9"}),
        ("newcomer", ("i10", "ghost"), None, "cold-start-content", SPACE_IDS | {"i10"}),
        ("newcomer", ("ghost",), None, "popular-fallback", None),
        ("newcomer", (), "rockets and planets", "cold-start-content", SPACE_IDS | {"i10"}),
    ],
)
def test_the_router_names_the_strategy_that_served(
    hybrid: Recommender,
    user: str,
    recent: Sequence[str],
    query: str | None,
    strategy: str,
    expected: set[str] | None,
) -> None:
    ids, served = feed_ids(hybrid, user, k=3, recent_items=recent, query=query)
    assert served == strategy and len(ids) == 3
    if expected is not None:
        assert ids[0] in expected
    if strategy == "cold-start-content":
        assert set(ids) <= SPACE_IDS | {"i10"}
    if strategy == "popular-fallback":
        assert "i10" not in ids  # popularity never serves items nobody interacted with


def test_events_a_model_was_trained_on_are_not_folded_in_again(
    interactions: pd.DataFrame,
) -> None:
    stored = events("u00", ("like", "i9"), ("view", "i9"), ("purchase", "i1"))
    retrained = create_recommender("ease", {"regularization": 1.0}).fit(
        pd.concat([interactions, event_interactions(stored)], ignore_index=True)
    )
    assert retrained.catalog.events_through == 3
    activity = user_activity(stored)
    assert feed_history(retrained, "u00", activity) == retrained.catalog.history_of("u00")
    feed = route_feed(retrained, FeedRequest("u00", k=3), activity)
    assert feed.strategy == "personalized" and feed.items == retrained.recommend("u00", k=3)
    later = events("u00", ("like", "i3"), first_seq=4)
    newer = feed_history(retrained, "u00", user_activity([*stored, *later]))
    assert "i3" in newer.items and "i3" not in retrained.catalog.history_of("u00").items


def test_an_event_that_committed_after_training_read_past_it_is_still_folded_in(
    interactions: pd.DataFrame, items: pd.DataFrame, tmp_path: Path
) -> None:
    fitted_item = interactions.loc[interactions["user_id"] == "u00", "item_id"].iloc[0]
    # Training read events 1 and 3 (likes of an item u00 already has); 2 had not committed yet.
    read = [
        StoredEvent(f"e{seq}", "u00", fitted_item, "like", 1_700_000_000 + seq, seq=seq)
        for seq in (1, 3)
    ]
    model = create_recommender("ease", {"regularization": 1.0}).fit(
        pd.concat([interactions, event_interactions(read)], ignore_index=True), items
    )
    model.save(tmp_path / "model")
    model = load_recommender(tmp_path / "model")
    catalog = model.catalog
    assert catalog.events_through == 3 and catalog.events_unseen == {2}
    before, _ = feed_ids(model, "u00", k=3)
    late = events("u00", ("like", before[0]), first_seq=2)  # position 2, visible only now
    after, strategy = feed_ids(model, "u00", user_activity(late), k=3)
    assert strategy == "personalized" and after and before[0] not in after
    # The positions the fit had are not added a second time.
    fitted = user_activity(read).interactions
    assert newer_than(fitted, catalog.events_through, catalog.events_unseen) == []


@pytest.mark.parametrize("model_name", ["ease", "itemknn", "als"])
def test_ratings_of_zero_or_below_never_break_a_folded_in_feed(
    interactions: pd.DataFrame, items: pd.DataFrame, model_name: str
) -> None:
    # A 0-5 scale's zeros and a thumbs-down of -1: u00's first two items are rated so.
    rated = interactions.assign(rating=interactions["rating"].astype(float))
    mine = rated.index[rated["user_id"] == "u00"][:2]
    rated.loc[mine, "rating"] = [0.0, -1.0]
    model = create_recommender(model_name).fit(rated, items)
    disliked = set(rated.loc[mine, "item_id"])
    assert not disliked & set(model.catalog.history_of("u00").items)
    recent = list(model.catalog.history_of("u01").items[:1])
    ids, strategy = feed_ids(model, "u00", k=3, recent_items=recent)
    assert ids and strategy == "personalized"
    activity = user_activity(events("u00", ("click", recent[0])))
    ids, strategy = feed_ids(model, "u00", activity, k=3)
    assert ids and strategy == "personalized"
    # Rated, even if not liked: seen, so never offered with exclude_seen (on every path).
    assert model.catalog.also_seen_items("u00") == disliked
    everything = model.catalog.n_items
    for activity in (None, user_activity(events("u00", ("click", recent[0])))):
        ids, _ = feed_ids(model, "u00", activity, k=everything)
        assert ids and not disliked & set(ids)
    # Rated 0 or below is a hide or a report: out even of a feed that asks for seen items.
    ids, _ = feed_ids(model, "u00", k=everything, exclude_seen=False)
    assert ids and not disliked & set(ids)


def test_pairs_seen_beyond_the_fitted_history_survive_saving(
    ease: Recommender, interactions: pd.DataFrame, tmp_path: Path
) -> None:
    held_out = interactions[interactions["user_id"] == "u02"].head(3)
    ease.catalog.add_also_seen(held_out)
    try:
        ease.save(tmp_path / "model")
        loaded = load_recommender(tmp_path / "model")
        assert loaded.catalog.also_seen_items("u02") == set(held_out["item_id"])
        ids, _ = feed_ids(loaded, "u02", k=loaded.catalog.n_items)
        assert ids and not set(held_out["item_id"]) & set(ids)
    finally:
        ease.catalog.also_seen = None  # the module's shared model
