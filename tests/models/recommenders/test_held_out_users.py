"""Users the fit never saw are served from the pairs held out to evaluate the model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.events import EVENT_SEQ
from models.recommenders import (
    FeedRequest,
    Recommender,
    create_recommender,
    load_recommender,
    route_feed,
)
from models.recommenders.held_out_users import HeldOutUsers

SPACE_IDS = {"i0", "i2", "i4", "i6", "i8"}


def held_out_pairs(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(user, item, rating, 5_000 + n) for n, (user, item, rating) in enumerate(rows)],
        columns=["user_id", "item_id", "rating", "timestamp"],
    )


@pytest.fixture
def ease(interactions: pd.DataFrame, items: pd.DataFrame) -> Recommender:
    """A model of its own: the tests attach held-out users to its catalog."""
    return create_recommender("ease", {"regularization": 1.0}).fit(interactions, items)


def feed(model: Recommender, user: str, k: int = 4) -> tuple[list[str], str]:
    answer = route_feed(model, FeedRequest(user, k=k))
    return [r.item_id for r in answer.items], answer.strategy


def test_a_user_whose_only_pairs_were_held_out_gets_a_feed_from_them(ease: Recommender) -> None:
    """Regression: a user whose single pair the split held out was served popular items, the
    item they had acted on among them."""
    before, strategy = feed(ease, "newbie", k=ease.catalog.n_items)
    assert strategy == "popular-fallback" and "i0" in before
    ease.catalog.add_held_out_users(
        held_out_pairs(("newbie", "i0", 5.0), ("newbie", "i1", 0.0)), "sum"
    )
    ids, strategy = feed(ease, "newbie")
    assert strategy == "personalized"
    assert set(ids) <= SPACE_IDS - {"i0"}  # their space film says what they like
    everything, _ = feed(ease, "newbie", k=ease.catalog.n_items)
    assert not {"i0", "i1"} & set(everything)  # both seen; the one rated 0 is never history
    assert ease.catalog.fit_time_history("newbie").items == ("i0",)
    assert ease.catalog.also_seen_items("newbie") == {"i0", "i1"}


def test_known_users_keep_their_fitted_history(ease: Recommender) -> None:
    fitted = ease.catalog.history_of("u00")
    ease.catalog.add_held_out_users(held_out_pairs(("u00", "i1", 5.0)), "sum")
    assert ease.catalog.held_out_users is None  # every held-out pair is a fitted user's
    assert ease.catalog.fit_time_history("u00") == fitted
    assert route_feed(ease, FeedRequest("u00", k=3)).items == ease.recommend("u00", k=3)


def test_repeated_pairs_merge_by_the_models_policy_and_unknown_items_are_dropped() -> None:
    from features.idmap import IdMap

    pairs = held_out_pairs(("a", "x", 2.0), ("a", "x", 3.0), ("a", "nowhere", 4.0))
    kept = HeldOutUsers.from_pairs(pairs, IdMap(["known"]), IdMap(["x", "y"]), "sum")
    assert kept is not None
    assert kept.history("a", IdMap(["x", "y"])).values == (5.0,)
    assert kept.seen("a", IdMap(["x", "y"])) == {"x"}
    by_max = HeldOutUsers.from_pairs(pairs, IdMap(["known"]), IdMap(["x", "y"]), "max")
    assert by_max is not None and by_max.history("a", IdMap(["x", "y"])).values == (3.0,)
    assert HeldOutUsers.from_pairs(pairs, IdMap(["a"]), IdMap(["x", "y"]), "sum") is None


def test_held_out_events_the_feed_folds_in_from_the_store_are_not_counted_twice(
    ease: Recommender,
) -> None:
    ease.catalog.events_unseen = frozenset({7})  # as if the fit lacked log position 7
    pairs = held_out_pairs(("newbie", "i0", 3.0), ("newbie", "i2", 3.0))
    pairs[EVENT_SEQ] = [7, 3]
    ease.catalog.add_held_out_users(pairs, "sum")
    assert ease.catalog.fit_time_history("newbie").items == ("i2",)


def test_held_out_users_survive_saving(ease: Recommender, tmp_path: Path) -> None:
    ease.catalog.add_held_out_users(held_out_pairs(("newbie", "i3", 4.0)), "sum")
    ease.save(tmp_path / "model")
    loaded = load_recommender(tmp_path / "model")
    assert loaded.catalog.fit_time_history("newbie") == ease.catalog.fit_time_history("newbie")
    assert feed(loaded, "newbie") == feed(ease, "newbie")
    assert feed(loaded, "newbie")[1] == "personalized"
