"""Item × item structures in float32: EASE's B and item-kNN's similarity are fitted, scored,
saved and loaded in single precision and rank like double precision; a hybrid can be assembled
from fitted components without refitting them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.recommenders import load_recommender
from models.recommenders.ease import EASEConfig, EASERecommender
from models.recommenders.hybrid import HybridConfig, HybridRecommender
from models.recommenders.item_knn import ItemKNNConfig, ItemKNNRecommender
from tests.models.recommenders.conftest import community_interactions


def _random_interactions() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = {
        (f"u{user}", f"i{item}")
        for user in range(80)
        for item in rng.choice(60, size=12, replace=False, p=_zipf(60))
    }
    return pd.DataFrame(
        [(user, item, float(rng.integers(1, 6))) for user, item in sorted(rows)],
        columns=["user_id", "item_id", "rating"],
    )


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def _top(model, users: list[str], k: int = 10) -> dict[str, list[str]]:
    return {u: [r.item_id for r in recs] for u, recs in model.recommend_batch(users, k).items()}


@pytest.mark.parametrize("zero_diagonal", [True, False])
def test_ease_float32_fit_ranks_like_float64(zero_diagonal: bool) -> None:
    frame = _random_interactions()
    single = EASERecommender(EASEConfig(regularization=50.0, zero_diagonal=zero_diagonal)).fit(
        frame
    )
    double = EASERecommender(
        EASEConfig(regularization=50.0, zero_diagonal=zero_diagonal, precision="float64")
    ).fit(frame)
    assert single.weights.dtype == np.float32 and double.weights.dtype == np.float32
    np.testing.assert_allclose(single.weights, double.weights, atol=1e-5)
    users = sorted(frame["user_id"].unique())
    assert _top(single, users) == _top(double, users)


def test_ease_scores_in_float32_without_upcasting_b() -> None:
    # Regression: float64 history rows times the float32 B made scipy copy B into float64 on
    # every scoring call (twice B's memory per batch on a large catalog).
    model = EASERecommender().fit(_random_interactions())
    scores = model.score_users(np.arange(5))
    assert scores.dtype == np.float32


def test_ease_float32_weights_survive_save_and_load(tmp_path: Path) -> None:
    model = EASERecommender(EASEConfig(regularization=20.0)).fit(_random_interactions())
    model.save(tmp_path / "ease")
    loaded = load_recommender(tmp_path / "ease")
    assert loaded.weights.dtype == np.float32
    np.testing.assert_array_equal(loaded.weights, model.weights)
    # Row-major after fitting and after loading: LAPACK's Fortran-ordered inverse made every
    # sparse history row times B copy the whole matrix (4 ms of a 5 ms feed at 1,682 items).
    assert model.weights.flags.c_contiguous and loaded.weights.flags.c_contiguous
    users = [f"u{n}" for n in range(10)]
    assert _top(loaded, users) == _top(model, users)


@pytest.mark.parametrize("similarity", ["cosine", "bm25", "tfidf"])
def test_itemknn_similarity_is_float32_and_survives_save_and_load(
    similarity: str, tmp_path: Path
) -> None:
    frame = _random_interactions()
    model = ItemKNNRecommender(ItemKNNConfig(similarity=similarity, neighbours=20)).fit(frame)
    assert model._similarity.dtype == np.float32
    model.save(tmp_path / "knn")
    loaded = load_recommender(tmp_path / "knn")
    assert loaded._similarity.dtype == np.float32
    users = sorted(frame["user_id"].unique())
    assert _top(loaded, users) == _top(model, users)
    # the float32 scores rank like float64 arithmetic over the same similarity
    double = model._similarity.astype(np.float64)
    rows = model.catalog.history_rows(np.arange(model.catalog.n_users))
    reference = np.asarray((model._inputs(rows, np.float64) @ double).toarray())
    np.testing.assert_allclose(
        model.score_users(np.arange(model.catalog.n_users)), reference, rtol=1e-5, atol=1e-6
    )


def test_a_hybrid_from_fitted_components_scores_like_a_fitted_hybrid() -> None:
    frame = community_interactions()
    config = HybridConfig.from_mapping(
        {"components": [{"type": "ease", "weight": 1.0}, {"type": "itemknn", "weight": 0.5}]}
    )
    fitted = HybridRecommender(config).fit(frame)
    parts = [EASERecommender().fit(frame), ItemKNNRecommender().fit(frame)]
    assembled = HybridRecommender.from_fitted(config, parts)
    users = sorted(frame["user_id"].unique())
    np.testing.assert_allclose(
        assembled.score_users(np.arange(len(users))), fitted.score_users(np.arange(len(users)))
    )
    assert _top(assembled, users) == _top(fitted, users)


def test_a_hybrid_from_fitted_refuses_components_of_other_types() -> None:
    frame = community_interactions()
    config = HybridConfig.from_mapping({"components": [{"type": "ease"}, {"type": "itemknn"}]})
    with pytest.raises(ValueError, match="do not match"):
        HybridRecommender.from_fitted(
            config, [ItemKNNRecommender().fit(frame), EASERecommender().fit(frame)]
        )
