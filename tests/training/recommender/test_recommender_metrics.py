"""Ranking metrics against values computed by hand (see the comments for each figure)."""

from __future__ import annotations

import math

import pytest

from training.recommender import metrics as M

LOG2_3 = math.log2(3)

# u1: hits at ranks 1 and 3 out of 3 relevant; u2: list shorter than k, hit at rank 3 of its only
# relevant item; u3: relevant items but no list; u4: no relevant item (left out); u5: list only.
RECS = {"u1": ["a", "b", "c", "d", "e"], "u2": ["p", "q", "r"], "u5": ["a"]}
TRUTH = {"u1": {"a", "c", "x"}, "u2": {"r"}, "u3": {"z"}, "u4": set()}

# Per-user values at k=5, by hand:
U1_NDCG = (1 + 1 / 2) / (1 + 1 / LOG2_3 + 1 / 2)  # DCG ranks 1,3; IDCG over min(5, 3) = 3 hits
U2_NDCG = (1 / 2) / 1  # hit at rank 3: 1/log2(4); IDCG over 1 hit
U1_AP = (1 / 1 + 2 / 3) / 3  # precision@1 + precision@3, over min(5, 3)
U2_AP = (1 / 3) / 1


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (M.precision_at_k, (2 / 5 + 1 / 5 + 0) / 3),  # divides by k even for u2's 3-item list
        (M.recall_at_k, (2 / 3 + 1 + 0) / 3),
        (M.ndcg_at_k, (U1_NDCG + U2_NDCG + 0) / 3),
        (M.map_at_k, (U1_AP + U2_AP + 0) / 3),
        (M.mrr_at_k, (1 + 1 / 3 + 0) / 3),
        (M.hit_rate_at_k, 2 / 3),
    ],
)
def test_accuracy_metrics_match_hand_computed_values(metric, expected) -> None:
    assert metric(RECS, TRUTH, 5) == pytest.approx(expected, abs=1e-12)


def test_cut_off_ignores_items_below_k() -> None:
    # At k=2 u1 keeps [a, b]: one hit; u2 keeps [p, q]: none.
    assert M.precision_at_k(RECS, TRUTH, 2) == pytest.approx((1 / 2) / 3)
    assert M.ndcg_at_k(RECS, TRUTH, 2) == pytest.approx((1 / (1 + 1 / LOG2_3)) / 3)
    assert M.map_at_k(RECS, TRUTH, 2) == pytest.approx((1 / 2) / 3)


def test_more_relevant_items_than_k_normalises_by_k() -> None:
    truth = {"u": {f"i{n}" for n in range(12)}}
    recs = {"u": ["i0", "other"]}
    assert M.map_at_k(recs, truth, 2) == pytest.approx(1 / 2)  # AP over min(2, 12)
    assert M.ndcg_at_k(recs, truth, 2) == pytest.approx(1 / (1 + 1 / LOG2_3))
    assert M.recall_at_k(recs, truth, 2) == pytest.approx(1 / 12)


def test_perfect_list_scores_one_even_with_fewer_relevant_than_k() -> None:
    truth = {"u": {"a", "b"}}
    recs = {"u": ["b", "a", "c", "d"]}
    assert M.ndcg_at_k(recs, truth, 10) == pytest.approx(1.0)
    assert M.map_at_k(recs, truth, 10) == pytest.approx(1.0)
    assert M.recall_at_k(recs, truth, 10) == pytest.approx(1.0)
    assert M.precision_at_k(recs, truth, 10) == pytest.approx(2 / 10)


def test_no_evaluated_users_or_no_lists_give_zero() -> None:
    assert M.ndcg_at_k({}, {}, 10) == 0.0
    assert M.ndcg_at_k({"u": ["a"]}, {"u": set()}, 10) == 0.0
    assert M.precision_at_k({}, {"u": {"a"}}, 10) == 0.0
    assert M.map_at_k({"u": []}, {"u": {"a"}}, 10) == 0.0


def test_repeated_item_in_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="repeats an item"):
        M.precision_at_k({"u": ["a", "a"]}, {"u": {"a"}}, 2)
    # A duplicate below the cut-off is not counted, so it is not an error.
    assert M.precision_at_k({"u": ["a", "b", "a"]}, {"u": {"a"}}, 2) == pytest.approx(0.5)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k_is_rejected(k) -> None:
    with pytest.raises(ValueError, match="k must be a positive integer"):
        M.ndcg_at_k(RECS, TRUTH, k)


def test_catalog_coverage_counts_distinct_catalog_items_in_top_k() -> None:
    recs = {"u1": ["a", "b", "c"], "u2": ["b", "x"]}
    catalog = ["a", "b", "c", "d"]
    assert M.catalog_coverage(recs, catalog, 2) == pytest.approx(2 / 4)  # {a, b}; x not in catalog
    assert M.catalog_coverage(recs, catalog, 3) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="catalog"):
        M.catalog_coverage(recs, [], 2)


def test_popularity_percentiles_share_the_mean_rank_on_ties() -> None:
    values = M.popularity_percentiles({"a": 1, "b": 2, "c": 2, "d": 5})
    # a: (0 + 0.5) / 4; b, c: (1 + 0.5 * 2) / 4; d: (3 + 0.5) / 4
    assert values == pytest.approx({"a": 0.125, "b": 0.5, "c": 0.5, "d": 0.875})


def test_popularity_bias_means_over_users_with_a_list() -> None:
    popularity = {"a": 1, "b": 2, "c": 2, "d": 5}
    recs = {"u1": ["d", "a"], "u2": ["b"], "u3": []}
    assert M.average_recommendation_popularity(recs, popularity, 2) == pytest.approx((3 + 2) / 2)
    assert M.mean_popularity_percentile(recs, popularity, 2) == pytest.approx(
        ((0.875 + 0.125) / 2 + 0.5) / 2
    )
    assert M.average_recommendation_popularity(recs, popularity, 1) == pytest.approx((5 + 2) / 2)


def test_ranking_metrics_agrees_with_the_single_metrics() -> None:
    popularity = {"a": 3, "b": 1, "c": 2, "d": 1, "e": 1, "p": 1, "q": 1, "r": 1}
    combined = M.ranking_metrics(RECS, TRUTH, 5, popularity=popularity)
    assert combined["precision@5"] == pytest.approx(M.precision_at_k(RECS, TRUTH, 5))
    assert combined["recall@5"] == pytest.approx(M.recall_at_k(RECS, TRUTH, 5))
    assert combined["ndcg@5"] == pytest.approx(M.ndcg_at_k(RECS, TRUTH, 5))
    assert combined["map@5"] == pytest.approx(M.map_at_k(RECS, TRUTH, 5))
    assert combined["mrr@5"] == pytest.approx(M.mrr_at_k(RECS, TRUTH, 5))
    assert combined["hit_rate@5"] == pytest.approx(M.hit_rate_at_k(RECS, TRUTH, 5))
    assert combined["users_evaluated"] == 3
    assert combined["coverage@5"] == pytest.approx(8 / 8)
    assert combined["arp@5"] == pytest.approx(
        M.average_recommendation_popularity(RECS, popularity, 5)
    )
    assert "coverage@5" not in M.ranking_metrics(RECS, TRUTH, 5)
