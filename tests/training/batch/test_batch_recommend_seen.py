"""Batch recommendations leave out what the service's feed leaves out as seen, and the batch
evaluation still masks the fitted history alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.schemas import ITEM_ID, USER_ID
from models.recommenders import (
    FeedRequest,
    ItemFilter,
    RetiredItems,
    load_recommender,
    route_feed,
)
from models.recommenders.base import Recommender
from models.recommenders.model_types import create_recommender
from training.batch import evaluate_on_engine, recommend_all
from training.pyfunc_recommender import RecommenderPyfunc
from training.recommender.evaluate import evaluate_recommender

K = 5
MODELS = {
    "als": {"factors": 8, "iterations": 5, "use_gpu": False},
    # Every item through the norm-ordered index: one-user feeds take the pruned top-k.
    "als-pruned": {"factors": 8, "iterations": 5, "use_gpu": False, "norm_index": {"min_items": 1}},
    "ease": {"regularization": 50.0},
}


def _interactions(users: int = 60, items: int = 40, seed: int = 3) -> pd.DataFrame:
    """Users with a taste for one of four item groups, plus noise and a few ratings of 0."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        liked = [i for i in range(items) if i % 4 == user % 4]
        noise = set(rng.integers(0, items, 2))
        picks = sorted(set(rng.choice(liked, size=5, replace=False)) | noise)
        for n, item in enumerate(picks):
            rating = 0.0 if n == 0 and user % 3 == 0 else 1.0  # rated 0: seen, not fitted
            rows.append((f"u{user:02d}", f"i{item:02d}", rating, user * 100 + n))
    return pd.DataFrame(rows, columns=[USER_ID, ITEM_ID, "rating", "timestamp"])


def _fitted(kind: str, interactions: pd.DataFrame) -> Recommender:
    model_type = kind.split("-")[0]
    return create_recommender(model_type, MODELS[kind]).fit(interactions)


def _held_out_favourites(model: Recommender, users: list[str]) -> pd.DataFrame:
    """Each user's two best items by the fitted history alone: the pairs a batch that ignored
    `also_seen` would surely recommend."""
    lists = model.recommend_batch(users, k=2)
    pairs = [(user, rec.item_id) for user in users for rec in lists[user]]
    return pd.DataFrame(pairs, columns=[USER_ID, ITEM_ID])


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_batch_lists_are_the_feeds_the_service_routes(kind: str, tmp_path: Path) -> None:
    """Regression: `agora batch recommend` offered items the model keeps as seen (held-out
    pairs, ratings of 0) that the service's feed leaves out."""
    interactions = _interactions()
    model = _fitted(kind, interactions)
    users = sorted(model.catalog.users)
    held_out = _held_out_favourites(model, users)
    model.catalog.add_also_seen(held_out)
    folder = model.save(tmp_path / "model")
    served = load_recommender(folder)

    batch = recommend_all(folder, [*users, "stranger"], k=K, users_per_batch=16)
    assert (batch.users, batch.unknown_users) == (len(users), 1)
    lists = {
        str(user): [str(item) for item in items]
        for user, items in batch.recommendations.groupby(USER_ID, sort=False)[ITEM_ID]
    }
    zero_rated = interactions[interactions["rating"] <= 0]
    for user in users:
        also_seen = served.catalog.also_seen_items(user)
        assert set(held_out.loc[held_out[USER_ID] == user, ITEM_ID]) <= also_seen
        assert set(zero_rated.loc[zero_rated[USER_ID] == user, ITEM_ID]) <= also_seen
        assert not also_seen & set(lists[user]), user
        feed = route_feed(served, FeedRequest(user, k=K))
        assert feed.strategy == "personalized"
        assert lists[user] == [rec.item_id for rec in feed.items], user
    # The scores are the feed's too: one user's rows.
    first = batch.recommendations[batch.recommendations[USER_ID] == users[0]]
    expected = [rec.score for rec in route_feed(served, FeedRequest(users[0], k=K)).items]
    np.testing.assert_allclose(first["score"].to_numpy(), expected, rtol=1e-12)
    # The registered model's MLflow pyfunc gives the same lists (it claimed the service's too).
    pyfunc = RecommenderPyfunc()
    pyfunc.recommender = served
    rows = pyfunc.predict(None, pd.DataFrame({USER_ID: users}), {"k": K})
    assert rows[[USER_ID, ITEM_ID]].values.tolist() == (
        batch.recommendations[[USER_ID, ITEM_ID]].astype(object).values.tolist()
    )


def test_batch_evaluation_masks_the_fitted_history_alone(tmp_path: Path) -> None:
    """The registered model keeps its test pairs as seen; the batch evaluation must still
    score them as the training evaluation did (not find every one of them masked)."""
    interactions = _interactions()
    test = interactions.groupby(USER_ID).tail(1)
    train = interactions.drop(test.index)
    model = _fitted("als", train)
    expected = evaluate_recommender(model, train, test, k=K)
    model.catalog.add_also_seen(test)  # as the training pipeline does before registering
    folder = model.save(tmp_path / "model")
    got = evaluate_on_engine(folder, train, test, k=K, users_per_batch=16).evaluation
    assert got.recommendations == expected.recommendations
    assert got.metrics == expected.metrics
    assert got.metrics[f"recall@{K}"] > 0


@pytest.mark.parametrize("kind", ["ease", "als-pruned"])
def test_batch_lists_leave_retired_items_out_as_the_feeds_do(kind: str, tmp_path: Path) -> None:
    model = _fitted(kind, _interactions())
    folder = model.save(tmp_path / "model")
    users = sorted(model.catalog.users)
    free = recommend_all(folder, users, k=K, users_per_batch=16).recommendations
    leaders = free.loc[free["rank"] == 1, ITEM_ID]
    retired = frozenset(leaders.value_counts().index[:3].astype(str))
    kept = recommend_all(folder, users, k=K, users_per_batch=16, retired=retired)
    rows = kept.recommendations
    assert not set(rows[ITEM_ID].astype(str)) & retired
    assert (rows.groupby(USER_ID).size() == K).all()  # refilled to k from below
    served = load_recommender(folder)
    user = str(rows[USER_ID].iloc[0])
    request = FeedRequest(user, k=K, filters=ItemFilter(retired=RetiredItems(retired)))
    expected = [rec.item_id for rec in route_feed(served, request).items]
    assert rows.loc[rows[USER_ID] == user, ITEM_ID].astype(str).tolist() == expected
