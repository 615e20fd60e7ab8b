"""Model-specific behaviour: EASE's limits, fold-in of unseen users, content serving, fusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.embeddings import TextEncoder
from models.errors import NoItemTextError
from models.recommenders import (
    UnknownItemError,
    UnknownUserError,
    create_recommender,
    load_recommender,
    ranking,
)
from models.recommenders.ease import CatalogTooLargeError, EASERecommender
from models.recommenders.embedding import EmbeddingRecommender
from models.recommenders.hybrid import HybridRecommender
from models.recommenders.ranking import top_k

SPACE = {"i0", "i2", "i4", "i6", "i8", "i10"}


def test_ease_refuses_catalogs_above_max_items(interactions: pd.DataFrame) -> None:
    model = create_recommender("ease", {"max_items": 5})
    with pytest.raises(CatalogTooLargeError, match="10 items: max_items is 5"):
        model.fit(interactions)
    assert not model.is_fitted


def test_a_hybrid_leaves_out_a_component_refusing_the_catalog_size(
    interactions: pd.DataFrame, tmp_path: Path
) -> None:
    # Regression (issue 13): a hybrid with EASE crashed on any catalog above EASE's max_items.
    config = {
        "components": [
            {"type": "ease", "config": {"max_items": 5}},
            {"type": "itemknn", "weight": 0.5},
        ]
    }
    model = create_recommender("hybrid", config).fit(interactions)
    assert isinstance(model, HybridRecommender)
    assert [c.model_type for c in model.components] == ["itemknn"]
    assert "max_items is 5" in model.left_out["ease"]
    user = str(interactions["user_id"].iloc[0])
    served = model.recommend(user, k=3)
    assert served
    model.save(tmp_path / "hybrid")
    loaded = load_recommender(tmp_path / "hybrid")
    assert [spec.type for spec in loaded.config.components] == ["itemknn"]
    assert loaded.recommend(user, k=3) == served


def test_a_hybrid_without_a_weighted_component_that_fits_refuses(
    interactions: pd.DataFrame,
) -> None:
    config = {
        "components": [
            {"type": "ease", "config": {"max_items": 5}},
            {"type": "itemknn", "weight": 0.0},
        ]
    }
    with pytest.raises(CatalogTooLargeError, match="no weighted component"):
        create_recommender("hybrid", config).fit(interactions)


def _textless_items(interactions: pd.DataFrame) -> pd.DataFrame:
    ids = interactions["item_id"].unique()
    return pd.DataFrame({"item_id": ids, "title": "", "text": " ", "genres": ""})


def test_the_content_model_without_item_text_refuses_naming_what_to_give_it(
    interactions: pd.DataFrame,
) -> None:
    for items in (None, _textless_items(interactions)):
        with pytest.raises(NoItemTextError, match="import an items file"):
            create_recommender("embedding").fit(interactions, items)


def test_a_hybrid_leaves_out_the_content_model_when_items_have_no_text(
    interactions: pd.DataFrame,
) -> None:
    """Regression: the default hybrid (EASE + a cold-start content model), trained with
    --budget-minutes 0 on ratings without an items file or with titleless items, crashed with
    the content model's ValueError instead of fusing what can be fitted."""
    for items in (None, _textless_items(interactions)):
        model = create_recommender("hybrid").fit(interactions, items)
        assert isinstance(model, HybridRecommender)
        assert [c.model_type for c in model.components] == ["ease"]
        assert "reads item texts" in model.left_out["embedding"]
        assert model.recommend(str(interactions["user_id"].iloc[0]), k=3)


@pytest.mark.parametrize("settings", [{}, {"dropout": 0.5, "zero_diagonal": False}])
def test_ease_matches_the_closed_form(interactions: pd.DataFrame, settings: dict) -> None:
    model = create_recommender("ease", {"regularization": 2.0, **settings}).fit(interactions)
    assert isinstance(model, EASERecommender)
    x = (model.catalog.history.toarray() > 0).astype(float)
    gram = x.T @ x
    penalty = 2.0 + settings.get("dropout", 0.0) / (1 - settings.get("dropout", 0.0)) * np.diag(
        gram
    )
    if settings:
        expected = np.linalg.solve(gram + np.diag(penalty), gram)
    else:
        inverse = np.linalg.inv(gram + np.diag(penalty))
        expected = np.eye(len(gram)) - inverse / np.diag(inverse)
        assert np.allclose(np.diag(model.weights), 0.0)
    np.testing.assert_allclose(model.weights, expected, atol=1e-5)


@pytest.mark.model
@pytest.mark.parametrize("weighting", ["binary", "confidence", "bm25"])
def test_als_fold_in_reproduces_a_known_users_ranking(
    interactions: pd.DataFrame, weighting: str
) -> None:
    model = create_recommender(
        "als",
        {
            "factors": 4,
            "regularization": 0.1,
            "iterations": 30,
            "weighting": weighting,
            "alpha": 2.0,
            "num_threads": 1,
        },
    ).fit(interactions)
    rows = interactions[interactions["user_id"] == "u08"]
    folded = model.recommend_for_items(list(rows["item_id"]), k=1, weights=list(rows["rating"]))
    assert folded[0].item_id == model.recommend("u08", k=1)[0].item_id == "i5"
    # the folded-in user scores every item almost exactly like the fitted user
    row = model._history_row(list(rows["item_id"]), list(rows["rating"]))
    fold_scores = model.score_history(row)[0]
    fitted_scores = model.score_users(np.array([model.catalog.users.index("u08")]))[0]
    assert np.corrcoef(fold_scores, fitted_scores)[0, 1] > 0.99


def test_cf_models_do_not_use_catalog_only_items(
    interactions: pd.DataFrame, items: pd.DataFrame
) -> None:
    model = create_recommender("ease", {"regularization": 1.0}).fit(interactions, items)
    assert "i10" in model.catalog.items and not model.known_item("i10")
    with pytest.raises(UnknownItemError, match="'i10': it had no interactions"):
        model.similar_items("i10")
    every = {r.item_id for r in model.recommend("u00", k=20, exclude_seen=False)}
    assert "i10" not in every


@pytest.mark.model
def test_embedding_answers_text_and_serves_cold_items(
    encoder: TextEncoder, interactions: pd.DataFrame, items: pd.DataFrame, tmp_path: Path
) -> None:
    model = create_recommender("embedding", encoder=encoder).fit(interactions, items)
    assert isinstance(model, EmbeddingRecommender)
    top = [r.item_id for r in model.recommend_for_text("space exploration voyage", k=3)]
    assert top[0] == "i10" and set(top) <= SPACE
    assert model.similar_items("i10", k=2)[0].item_id in SPACE
    with pytest.raises(ValueError, match="non-empty string"):
        model.recommend_for_text("   ")
    loaded = load_recommender(model.save(tmp_path / "m"), encoder=encoder)
    assert loaded.recommend_for_text("romantic wedding", k=3) == model.recommend_for_text(
        "romantic wedding", k=3
    )


@pytest.fixture(scope="module")
def hybrid(
    encoder: TextEncoder, interactions: pd.DataFrame, items: pd.DataFrame
) -> HybridRecommender:
    model = create_recommender("hybrid", encoder=encoder).fit(interactions, items)
    assert isinstance(model, HybridRecommender)
    return model


@pytest.mark.model
def test_hybrid_is_pure_fusion_under_the_contract(hybrid: HybridRecommender) -> None:
    assert hybrid.recommend("u02", k=3)[0].item_id == "i4"
    with pytest.raises(UnknownUserError, match="'newcomer'"):
        hybrid.recommend("newcomer")
    recs = hybrid.recommend_for_items(["i1", "i5"], k=3)
    assert recs and recs[0].item_id in {"i3", "i7", "i9"}
    # only the (weight 0) content component can use a catalog-only item: it serves alone
    cold = [r.item_id for r in hybrid.recommend_for_items(["i10"], k=3)]
    assert cold and set(cold) <= SPACE
    text = [r.item_id for r in hybrid.recommend_for_text("rockets and planets", k=2)]
    assert text and set(text) <= SPACE
    with pytest.raises(UnknownItemError, match="'ghost'"):
        hybrid.recommend_for_items(["i10", "ghost"])


@pytest.mark.model
def test_cf_component_without_usable_items_adds_no_rank_noise(
    encoder: TextEncoder, interactions: pd.DataFrame, items: pd.DataFrame
) -> None:
    """Regression: fusing a row of catalog-only items let EASE's all-zero scores of an empty
    history rank items by index and dilute the content model's ranking."""
    config = {
        "components": [
            {"type": "ease", "config": {"regularization": 1.0}},
            {"type": "embedding", "weight": 1.0},
        ]
    }
    model = create_recommender("hybrid", config, encoder=encoder).fit(interactions, items)
    assert isinstance(model, HybridRecommender)
    content = model.content
    assert content is not None
    fused = [r.item_id for r in model.recommend_for_items(["i10"], k=10)]
    alone = [r.item_id for r in content.recommend_for_items(["i10"], k=10)]
    assert len(fused) == 10 and fused == alone


def test_hybrid_without_content_cannot_answer_text(interactions: pd.DataFrame) -> None:
    model = create_recommender("hybrid", {"components": [{"type": "ease"}]}).fit(interactions)
    assert not model.answers_text_queries and not model.serves_cold_items
    with pytest.raises(ValueError, match="no content"):
        model.recommend_for_text("space")


@pytest.mark.model
def test_hybrid_score_fusion(
    encoder: TextEncoder, interactions: pd.DataFrame, items: pd.DataFrame
) -> None:
    config = {
        "fusion": "score",
        "components": [
            {"type": "ease", "config": {"regularization": 1.0}},
            {"type": "embedding", "weight": 0.5},
        ],
    }
    model = create_recommender("hybrid", config, encoder=encoder).fit(interactions, items)
    assert model.recommend("u01", k=1)[0].item_id == "i2"
    assert model.recommend("u07", k=1)[0].item_id == "i3"


def test_top_k_breaks_ties_by_index_and_drops_excluded() -> None:
    scores = np.array([[1.0, 3.0, 3.0, -np.inf, 2.0], [-np.inf] * 5, [0.0] * 5])
    picked = top_k(scores, 3)
    assert picked[0].tolist() == [1, 2, 4]
    assert picked[1].tolist() == []
    assert picked[2].tolist() == [0, 1, 2]
    assert top_k(scores, 10)[0].tolist() == [1, 2, 4, 0]


def test_large_batches_are_scored_in_blocks_with_the_same_answers(
    monkeypatch: pytest.MonkeyPatch, interactions: pd.DataFrame
) -> None:
    model = create_recommender("ease", {"regularization": 1.0}).fit(interactions)
    users = sorted(interactions["user_id"].unique())
    whole = model.recommend_batch(users, k=3)
    monkeypatch.setattr(ranking, "MAX_BATCH_CELLS", 25)  # 2 users per block with 10 items
    assert ranking.batch_rows(model.catalog.n_items) == 2
    assert model.recommend_batch(users, k=3) == whole
