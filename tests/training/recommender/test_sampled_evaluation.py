"""Evaluation of many users on a seeded sample, with a confidence interval of the mean NDCG."""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from training.recommender.evaluate import evaluate_recommender, sample_test_users
from training.recommender.metrics import (
    mean_confidence_interval,
    per_user_ndcg,
    ranking_metrics,
)


class _FirstItems:
    """Recommends items i0, i1, ... to everyone (seen items not excluded: a fixed ranking)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def recommend_batch(
        self, user_ids: Sequence[str], k: int = 10, exclude_seen: bool = True, filters: Any = None
    ) -> dict[str, list[Any]]:
        self.asked += list(user_ids)
        return {u: [SimpleNamespace(item_id=f"i{n}") for n in range(k)] for u in user_ids}


def _split(users: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    train = pd.DataFrame({"user_id": [f"u{u}" for u in range(users)], "item_id": "i99"})
    # User u's held-out item is i(u mod 20): a hit in the top 10 for half of the users.
    test = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in range(users)],
            "item_id": [f"i{u % 20}" for u in range(users)],
        }
    )
    return train, test


def test_past_max_users_a_seeded_sample_is_scored_and_reported() -> None:
    train, test = _split(300)
    model = _FirstItems()
    sampled = evaluate_recommender(model, train, test, k=10, ks=(10,), max_users=100, seed=5)
    assert len(model.asked) == 100 and len(set(model.asked)) == 100
    assert sampled.users_total == 300 and sampled.sampled
    assert sampled.metrics["users_evaluated"] == 100
    again = evaluate_recommender(_FirstItems(), train, test, k=10, ks=(10,), max_users=100, seed=5)
    assert again.recommendations.keys() == sampled.recommendations.keys()  # seeded
    low, high = sampled.ndcg_ci95
    assert low < sampled.metrics["ndcg@10"] < high
    everyone = evaluate_recommender(_FirstItems(), train, test, k=10, ks=(10,))
    assert not everyone.sampled and everyone.users_total == 300
    assert low < everyone.metrics["ndcg@10"] < high  # the sample's interval covers the truth


def test_fewer_users_than_the_limit_are_all_scored() -> None:
    test = pd.DataFrame({"user_id": ["a", "b", "b"], "item_id": ["x", "y", "z"]})
    assert sample_test_users(test, 5, seed=0) == (test, 2)
    many = pd.DataFrame({"user_id": [f"u{i % 10}" for i in range(30)], "item_id": "x"})
    sampled, total = sample_test_users(many, 3, seed=0)
    assert total == 10 and sampled["user_id"].nunique() == 3 and len(sampled) == 9
    with pytest.raises(ValueError, match="max_users"):
        evaluate_recommender(_FirstItems(), *_split(3), max_users=0)


def test_per_user_ndcg_averages_to_the_metric_and_the_interval_is_by_hand() -> None:
    lists = {"a": ["x", "y"], "b": ["z", "x"], "c": ["q", "r"]}
    relevant = {"a": {"x"}, "b": {"x"}, "c": {"x"}}
    values = per_user_ndcg(lists, relevant, 2)
    assert values == pytest.approx([1.0, 1 / math.log2(3), 0.0])
    assert sum(values) / 3 == pytest.approx(ranking_metrics(lists, relevant, 2)["ndcg@2"])
    mean = sum(values) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    low, high = mean_confidence_interval(values)
    assert low == pytest.approx(mean - 1.96 * sd / math.sqrt(3))
    assert high == pytest.approx(mean + 1.96 * sd / math.sqrt(3))
    assert mean_confidence_interval([0.5]) == (0.5, 0.5)


def test_tuning_validates_on_a_seeded_sample_of_users_past_its_limit() -> None:
    from training.recommender.config import TuningConfig
    from training.recommender.tuning import validation_split

    rows = [(f"u{u}", f"i{i}") for u in range(60) for i in range(8)]
    train = pd.DataFrame(rows, columns=["user_id", "item_id"])
    _, validation, metric = validation_split(train, TuningConfig(max_users=25), 10, "test")
    assert metric == "ndcg@10" and validation["user_id"].nunique() == 25
    _, again, _ = validation_split(train, TuningConfig(max_users=25), 10, "test")
    assert set(again["user_id"]) == set(validation["user_id"])
    _, everyone, _ = validation_split(train, TuningConfig(max_users=None), 10, "test")
    assert everyone["user_id"].nunique() == 60
    # A sampled user keeps all of their validation rows.
    some = validation["user_id"].iloc[0]
    assert (validation["user_id"] == some).sum() == (everyone["user_id"] == some).sum()


def test_also_seen_pairs_are_left_out_of_each_users_list() -> None:
    """A champion scored against a candidate trained on more events leaves those out too."""
    train, test = _split(2)  # u0's held-out item is i0, u1's is i1
    also_seen = pd.DataFrame({"user_id": ["u0", "u0"], "item_id": ["i0", "i3"]})
    scored = evaluate_recommender(_FirstItems(), train, test, k=5, ks=(5,), also_seen=also_seen)
    # u0 loses i0 (a hit) and i3, and still gets 5 items; u1's list is untouched.
    assert scored.recommendations["u0"][:5] == ["i1", "i2", "i4", "i5", "i6"]
    assert scored.recommendations["u1"][:5] == ["i0", "i1", "i2", "i3", "i4"]


def test_held_out_pairs_rated_0_or_below_are_not_relevant() -> None:
    """Regression: a held-out hide or report (rated 0 by an event-log import) counted as a hit."""
    train = pd.DataFrame({"user_id": ["u0", "u1"], "item_id": "i99", "rating": 1.0})
    test = pd.DataFrame(
        {
            "user_id": ["u0", "u0", "u0", "u1"],
            "item_id": ["i0", "i5", "i5", "i1"],
            "rating": [0.0, 0.0, 3.0, 0.0],  # i5: a dislike, then a click; u1: only a report
        }
    )
    scored = evaluate_recommender(_FirstItems(), train, test, k=10, ks=(10,))
    # u0's relevant item is i5 alone (rank 6 of i0..i9); u1 has nothing relevant to find.
    assert list(scored.recommendations) == ["u0"]
    assert scored.metrics["ndcg@10"] == pytest.approx(1 / math.log2(7))
