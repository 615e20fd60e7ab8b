"""Top-k ranking metrics for recommenders, one signature for all of them.

Every accuracy metric takes

- `recommendations`: user id -> ranked list of recommended item ids (best first),
- `relevant`: user id -> the user's held-out (test) item ids, every one relevant (binary relevance),
- `k`: the cut-off, a positive integer,

and returns the mean over the users that have at least one relevant item. A user with relevant
items but no recommendation list (or an empty one) counts as zero, so a model cannot score well
by staying silent; users with no relevant item are left out, as they carry no signal. When every
evaluated user has a list, this is exactly the averaging of Microsoft Recommenders'
`python_evaluation` (mean over users present in both frames), whose definitions the published
MovieLens benchmark numbers use:

- precision@k = hits in the top k / k (k, not the list length, even when the list is shorter);
- recall@k = hits in the top k / number of relevant items;
- NDCG@k = DCG / IDCG with gain 1 per hit and discount 1/log2(rank + 1); IDCG places
  min(k, #relevant) hits at ranks 1.. (the best achievable list), so NDCG@k reaches 1;
- MAP@k = mean of AP@k, with AP@k = sum over hit ranks r <= k of precision@r, divided by
  min(k, #relevant) (Microsoft Recommenders' `map_at_k`, after Spark MLlib), so AP@k reaches 1;
- MRR@k = 1 / rank of the first hit in the top k, 0 without a hit;
- hit rate@k = share of users with at least one hit in the top k.

Beyond accuracy: catalog coverage (share of the catalog appearing in some top-k list) and
popularity bias (average recommendation popularity and mean popularity percentile of the items
recommended; popular-item recommenders score high on both).

A recommendation list must not repeat an item: a duplicate would count one relevant item twice,
so it raises instead of silently inflating the figures.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence

import numpy as np

Recommendations = Mapping[str, Sequence[str]]
Relevant = Mapping[str, Collection[str]]

ACCURACY_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _top_k(user: str, items: Sequence[str], k: int) -> list[str]:
    top = list(items[:k])
    if len(set(top)) != len(top):
        raise ValueError(f"recommendation list of user {user!r} repeats an item in its top {k}")
    return top


def _evaluated_users(
    recommendations: Recommendations, relevant: Relevant, k: int
) -> Iterator[tuple[list[str], set[str]]]:
    """Yield (top-k list, relevant set) for every user with at least one relevant item."""
    _check_k(k)
    for user, items in relevant.items():
        truth = set(items)
        if truth:
            yield _top_k(user, recommendations.get(user, ()), k), truth


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def _average_precision(top: list[str], truth: set[str], k: int) -> float:
    hits, total = 0, 0.0
    for rank, item in enumerate(top, start=1):
        if item in truth:
            hits += 1
            total += hits / rank
    return total / min(k, len(truth))


def _ndcg(top: list[str], truth: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(rank + 1) for rank, item in enumerate(top, start=1) if item in truth)
    idcg = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(truth)) + 1))
    return dcg / idcg


def _reciprocal_rank(top: list[str], truth: set[str]) -> float:
    return next((1.0 / rank for rank, item in enumerate(top, start=1) if item in truth), 0.0)


def precision_at_k(recommendations: Recommendations, relevant: Relevant, k: int) -> float:
    """Mean share of the k slots that hold a relevant item."""
    return _mean(
        [
            len(truth.intersection(top)) / k
            for top, truth in _evaluated_users(recommendations, relevant, k)
        ]
    )


def recall_at_k(recommendations: Recommendations, relevant: Relevant, k: int) -> float:
    """Mean share of each user's held-out items found in the top k."""
    return _mean(
        [
            len(truth.intersection(top)) / len(truth)
            for top, truth in _evaluated_users(recommendations, relevant, k)
        ]
    )


def ndcg_at_k(recommendations: Recommendations, relevant: Relevant, k: int) -> float:
    """Mean binary NDCG@k (log2 discount, ideal DCG over min(k, #relevant) hits)."""
    return _mean(
        [_ndcg(top, truth, k) for top, truth in _evaluated_users(recommendations, relevant, k)]
    )


def map_at_k(recommendations: Recommendations, relevant: Relevant, k: int) -> float:
    """Mean AP@k, each normalised by min(k, #relevant) as Microsoft Recommenders' `map_at_k`."""
    return _mean(
        [
            _average_precision(top, truth, k)
            for top, truth in _evaluated_users(recommendations, relevant, k)
        ]
    )


def mrr_at_k(recommendations: Recommendations, relevant: Relevant, k: int) -> float:
    """Mean reciprocal rank of the first relevant item within the top k (0 when none)."""
    return _mean(
        [
            _reciprocal_rank(top, truth)
            for top, truth in _evaluated_users(recommendations, relevant, k)
        ]
    )


def hit_rate_at_k(recommendations: Recommendations, relevant: Relevant, k: int) -> float:
    """Share of users with at least one relevant item in their top k."""
    return _mean(
        [
            float(not truth.isdisjoint(top))
            for top, truth in _evaluated_users(recommendations, relevant, k)
        ]
    )


def catalog_coverage(recommendations: Recommendations, catalog: Collection[str], k: int) -> float:
    """Share of the catalog's items that appear in at least one user's top k.

    Items recommended but absent from `catalog` are ignored, so the value stays within [0, 1].
    """
    _check_k(k)
    if not catalog:
        raise ValueError("catalog must not be empty")
    catalog_set = set(catalog)
    shown = {item for user, items in recommendations.items() for item in _top_k(user, items, k)}
    return len(shown & catalog_set) / len(catalog_set)


def popularity_percentiles(popularity: Mapping[str, float]) -> dict[str, float]:
    """Each item's popularity percentile in [0, 1] within the catalog (ties share the mean rank).

    percentile = (number of items strictly less popular + half the number equally popular,
    itself included) / catalog size, i.e. scipy's `percentileofscore(kind="mean") / 100`.
    """
    if not popularity:
        raise ValueError("popularity must not be empty")
    items = list(popularity)
    counts = np.array([popularity[i] for i in items], dtype=np.float64)
    ordered = np.sort(counts)
    below = np.searchsorted(ordered, counts, side="left")
    at_or_below = np.searchsorted(ordered, counts, side="right")
    values = (below + 0.5 * (at_or_below - below)) / len(items)
    return dict(zip(items, values.tolist(), strict=True))


def _recommended_values(
    recommendations: Recommendations, values: Mapping[str, float], k: int
) -> list[float]:
    """Per-user mean of `values` over the top k (unknown items count 0); empty lists skipped."""
    _check_k(k)
    means = []
    for user, items in recommendations.items():
        top = _top_k(user, items, k)
        if top:
            means.append(float(np.mean([values.get(item, 0.0) for item in top])))
    return means


def average_recommendation_popularity(
    recommendations: Recommendations, popularity: Mapping[str, float], k: int
) -> float:
    """ARP: mean over users of the mean training popularity (interaction count) of their top k."""
    return _mean(_recommended_values(recommendations, popularity, k))


def mean_popularity_percentile(
    recommendations: Recommendations, popularity: Mapping[str, float], k: int
) -> float:
    """Mean over users of the mean popularity percentile of their top k (0.5 = no popularity bias
    relative to a uniform pick from the catalog; near 1 = only blockbusters)."""
    return _mean(_recommended_values(recommendations, popularity_percentiles(popularity), k))


def ranking_metrics(
    recommendations: Recommendations,
    relevant: Relevant,
    k: int,
    popularity: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Every metric at cut-off k, keyed like 'ndcg@10', in one pass over the users.

    With `popularity` (training interaction count per catalog item) it adds 'coverage@k',
    'arp@k' and 'pop_percentile@k'; the catalog is the keys of `popularity`.
    """
    sums = dict.fromkeys(ACCURACY_METRICS, 0.0)
    users = 0
    for top, truth in _evaluated_users(recommendations, relevant, k):
        users += 1
        hits = len(truth.intersection(top))
        sums["precision"] += hits / k
        sums["recall"] += hits / len(truth)
        sums["ndcg"] += _ndcg(top, truth, k)
        sums["map"] += _average_precision(top, truth, k)
        sums["mrr"] += _reciprocal_rank(top, truth)
        sums["hit_rate"] += float(hits > 0)
    result = {f"{name}@{k}": (total / users if users else 0.0) for name, total in sums.items()}
    result["users_evaluated"] = float(users)
    if popularity is not None:
        result[f"coverage@{k}"] = catalog_coverage(recommendations, popularity.keys(), k)
        result[f"arp@{k}"] = average_recommendation_popularity(recommendations, popularity, k)
        result[f"pop_percentile@{k}"] = mean_popularity_percentile(recommendations, popularity, k)
    return result


def per_user_ndcg(recommendations: Recommendations, relevant: Relevant, k: int) -> list[float]:
    """NDCG@k of every evaluated user, in the order `ranking_metrics` averages them."""
    _check_k(k)
    return [_ndcg(top, truth, k) for top, truth in _evaluated_users(recommendations, relevant, k)]


def mean_confidence_interval(values: Sequence[float], z: float = 1.96) -> tuple[float, float]:
    """Normal-approximation interval of a mean over users (z=1.96: 95 %); (mean, mean) for n < 2.

    Users are independent draws when they are sampled at random, and with thousands of them the
    mean is close to normal whatever the per-user distribution (central limit theorem).
    """
    n = len(values)
    mean = float(sum(values) / n) if n else 0.0
    if n < 2:
        return mean, mean
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = z * (variance / n) ** 0.5
    return mean - half, mean + half
