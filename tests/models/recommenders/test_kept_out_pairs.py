"""Fit-time hides and reports (pairs rated 0 or below) stay out of every feed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.events import StoredEvent
from features.user_history import user_activity
from models.recommenders import (
    FeedRequest,
    Recommender,
    create_recommender,
    fitted_feeds,
    load_recommender,
    route_feed,
)

DAY = 86_400


def feed_ids(model: Recommender, user: str, activity=None, **options) -> list[str]:
    return [r.item_id for r in route_feed(model, FeedRequest(user, **options), activity).items]


def rated_zero(interactions: pd.DataFrame, user: str, count: int) -> tuple[pd.DataFrame, set[str]]:
    """`interactions` with the user's first `count` pairs at rating 0 (an imported hide)."""
    rated = interactions.assign(rating=interactions["rating"].astype(float))
    mine = rated.index[rated["user_id"] == user][:count]
    rated.loc[mine, "rating"] = 0.0
    return rated, set(rated.loc[mine, "item_id"])


def like(user: str, item: str, seq: int) -> StoredEvent:
    return StoredEvent(f"e{seq}", user, item, "like", 1_700_000_000 + seq, seq=seq)


def click(user: str, item: str, seq: int) -> StoredEvent:
    return StoredEvent(f"e{seq}", user, item, "click", 1_700_000_000 + seq, seq=seq)


@pytest.mark.parametrize("model_name", ["ease", "als"])
def test_imported_hides_stay_out_of_feeds_that_ask_for_seen_items(
    interactions: pd.DataFrame, items: pd.DataFrame, model_name: str, tmp_path: Path
) -> None:
    """Regression: pairs rated 0 (imported hides, reports) came back with exclude_seen=false."""
    rated, hidden = rated_zero(interactions, "u00", 2)
    model = create_recommender(model_name).fit(rated, items)
    everything = model.catalog.n_items
    other = next(i for i in model.catalog.history_of("u01").items if i not in hidden)
    model.save(tmp_path / "model")
    for served in (model, load_recommender(tmp_path / "model")):
        assert served.catalog.kept_out_items("u00") == hidden
        for activity, recent in (
            (None, []),
            (None, [other]),
            (user_activity([click("u00", other, 1)]), []),
        ):
            ids = feed_ids(
                served, "u00", activity, k=everything, exclude_seen=False, recent_items=recent
            )
            assert ids and not hidden & set(ids)
        batch = fitted_feeds(served, ["u00"], k=everything, exclude_seen=False)["u00"]
        assert batch and not hidden & {r.item_id for r in batch}
        # A user who hid nothing still gets their seen items back when asking for them.
        assert set(served.catalog.history_of("u01").items) <= set(
            feed_ids(served, "u01", k=everything, exclude_seen=False)
        )


def test_a_later_like_lifts_an_imported_hide(
    interactions: pd.DataFrame, items: pd.DataFrame
) -> None:
    rated, hidden = rated_zero(interactions, "u00", 1)
    model = create_recommender("ease").fit(rated, items)
    (item,) = hidden
    everything = model.catalog.n_items
    clicked = user_activity([click("u00", item, 1)])
    assert item not in feed_ids(model, "u00", clicked, k=everything, exclude_seen=False)
    liked = user_activity([like("u00", item, 1)])
    assert item in feed_ids(model, "u00", liked, k=everything, exclude_seen=False)


def test_held_out_hides_stay_out_for_known_and_unfitted_users(
    interactions: pd.DataFrame, items: pd.DataFrame
) -> None:
    model = create_recommender("ease").fit(interactions, items)
    held_out = pd.DataFrame(
        {
            "user_id": ["u03", "stranger", "stranger"],
            "item_id": ["i1", "i3", "i0"],
            "rating": [0.0, 0.0, 5.0],
            "timestamp": [1, 2, 3],
        }
    )
    model.catalog.add_also_seen(held_out)
    model.catalog.add_kept_out(held_out, "sum")
    model.catalog.add_held_out_users(held_out, "sum")
    everything = model.catalog.n_items
    assert "i1" not in feed_ids(model, "u03", k=everything, exclude_seen=False)
    stranger = feed_ids(model, "stranger", k=everything, exclude_seen=False)
    assert stranger and "i3" not in stranger
