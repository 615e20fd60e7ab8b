"""Taste: clusters of users by the recommender's user factors, and one user's top genres.

The clusters are k-means (scikit-learn) on the user factors of the champion's matrix
factorisation (ALS or BPR, alone or as a hybrid's component), rows L2-normalised so the
direction of a user's taste decides their cluster, not how much they did. A champion without
user factors (EASE, item-kNN, popularity, embeddings) has nothing of the kind: the clusters are
then fitted on a truncated SVD of the users × items interaction matrix, and the run says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from threadpoolctl import threadpool_limits

from data import schemas as S
from features.interactions import build_interaction_matrix
from models.recommenders.base import Recommender
from models.recommenders.factorization import ALSRecommender, BPRRecommender
from models.segments.config import TasteConfig

logger = logging.getLogger(__name__)

SVD_DIMENSIONS = 32


@dataclass(frozen=True)
class UserFactors:
    """One row of factors per user id, and where they came from."""

    user_ids: list[str]
    factors: np.ndarray
    source: str


def recommender_user_factors(model: Recommender) -> UserFactors | None:
    """The user factors of `model` (or of its first factorisation component), if any."""
    candidates = [model, *getattr(model, "components", ())]
    for candidate in candidates:
        if isinstance(candidate, ALSRecommender | BPRRecommender) and candidate.is_fitted:
            factors = np.asarray(candidate.user_factors, dtype=np.float64)
            users = candidate.catalog.users.ids
            if factors.ndim == 2 and factors.shape[0] == len(users) and factors.shape[1] > 0:
                where = "" if candidate is model else f" ({model.model_type} component)"
                return UserFactors(list(users), factors, f"{candidate.model_type}{where}")
    return None


def interaction_factors(interactions: pd.DataFrame, seed: int = 0) -> UserFactors:
    """User factors from a truncated SVD of the binary users × items matrix (the stand-in
    when the recommender has none)."""
    binary = interactions[[S.USER_ID, S.ITEM_ID]].assign(**{S.RATING: 1.0})
    built = build_interaction_matrix(binary, duplicates="max")
    matrix = built.matrix
    dimensions = max(1, min(SVD_DIMENSIONS, min(matrix.shape) - 1))
    factors = TruncatedSVD(dimensions, random_state=seed).fit_transform(matrix)
    return UserFactors(list(built.users.ids), factors, "truncated-svd of the interactions")


def fit_taste_clusters(factors: np.ndarray, config: TasteConfig) -> np.ndarray:
    """A cluster per row of `factors` (k-means on L2-normalised rows, seeded: the same input
    gives the same labels). Fewer rows than `config.clusters` give one cluster per row."""
    if len(factors) == 0:
        return np.zeros(0, dtype=np.int64)
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    unit = factors / np.where(norms > 0, norms, 1.0)
    clusters = max(1, min(config.clusters, len(unit)))
    # Full k-means up to `minibatch_above` users, mini-batches beyond (seconds, not minutes,
    # for millions); threads bounded: an oversubscribed shared machine ran it 3-4x slower.
    if len(unit) > config.minibatch_above:
        kmeans: KMeans | MiniBatchKMeans = MiniBatchKMeans(
            n_clusters=clusters, random_state=config.seed, n_init=config.n_init, batch_size=4096
        )
    else:
        kmeans = KMeans(n_clusters=clusters, random_state=config.seed, n_init=config.n_init)
    with threadpool_limits(limits=config.threads):
        return kmeans.fit_predict(unit).astype(np.int64)


def describe_clusters(
    clusters: pd.Series,
    interactions: pd.DataFrame,
    items: pd.DataFrame | None,
    config: TasteConfig,
) -> pd.DataFrame:
    """One row per cluster: users, the genres that set it apart (highest lift over all users
    among genres with at least `min_genre_share` of its interactions) and a description.

    `clusters`: cluster per user id (index).
    """
    sizes = clusters.value_counts().sort_index()
    distinctive: dict[int, list[str]] = {}
    if items is not None and S.GENRES in items.columns and len(clusters):
        genres = items[[S.ITEM_ID, S.GENRES]].astype(str)
        genres = genres.assign(genre=genres[S.GENRES].str.split(S.TAG_SEPARATOR)).explode("genre")
        genres = genres[genres["genre"].fillna("") != ""][[S.ITEM_ID, "genre"]]
        pairs = interactions[[S.USER_ID, S.ITEM_ID]].astype(str)
        pairs = pairs.assign(cluster=pairs[S.USER_ID].map(clusters)).dropna(subset=["cluster"])
        tagged = pairs.merge(genres, on=S.ITEM_ID)
        counts = tagged.groupby(["cluster", "genre"]).size()
        share = counts / counts.groupby(level="cluster").transform("sum")
        overall = tagged.groupby("genre").size() / max(len(tagged), 1)
        lift = share / overall.reindex(share.index.get_level_values("genre")).to_numpy()
        ranked = pd.DataFrame({"share": share, "lift": lift}).reset_index()
        ranked = ranked[ranked["share"] >= config.min_genre_share]
        ranked = ranked.sort_values(["cluster", "lift", "genre"], ascending=[True, False, True])
        top = ranked.groupby("cluster").head(config.top_genres)
        distinctive = {int(c): list(g) for c, g in top.groupby("cluster")["genre"]}
    rows = []
    for cluster, users in sizes.items():
        named = distinctive.get(int(cluster), [])
        leaning = f"leans to {', '.join(named)}" if named else "no distinctive genre"
        rows.append(
            {
                "cluster": int(cluster),
                "users": int(users),
                "top_genres": "|".join(named),
                "description": f"taste cluster {int(cluster)}: {leaning} ({int(users)} users)",
            }
        )
    return pd.DataFrame(rows, columns=["cluster", "users", "top_genres", "description"])


def top_genres(
    model: Recommender, items: Sequence[str], values: Sequence[float], n: int = 5
) -> list[tuple[str, float]]:
    """One user's top genres: each genre's share of the user's interaction value over the
    genres of the items (as the model's catalog describes them), highest first, at most n."""
    weight: dict[str, float] = {}
    for info, value in zip(model.describe_items(list(items)), values, strict=True):
        for genre in info.genres:
            weight[genre] = weight.get(genre, 0.0) + float(value)
    total = sum(weight.values())
    if total <= 0:
        return []
    ranked = sorted(weight.items(), key=lambda pair: (-pair[1], pair[0]))[:n]
    return [(genre, value / total) for genre, value in ranked]
