"""EASE inverts only the items with training interactions: the result must be the B of the whole
catalog (computed here the textbook way), items nobody touched score 0, and a model saved before
B was kept for the active items alone still loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from models.artifacts import load_arrays, save_arrays
from models.recommenders import load_recommender
from models.recommenders.ease import WEIGHTS_FILE, EASEConfig, EASERecommender, _columns


def _interactions() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = {(f"u{u}", f"i{i}") for u in range(40) for i in rng.choice(30, size=6, replace=False)}
    return pd.DataFrame(
        [(user, item, 1.0) for user, item in sorted(rows)],
        columns=["user_id", "item_id", "rating"],
    )


def _items(frame: pd.DataFrame) -> pd.DataFrame:
    """The interacted items plus ten nobody touched, interleaved by id order."""
    ids = sorted(set(frame["item_id"]) | {f"i{n}" for n in range(30, 40)} | {"a0", "z9"})
    return pd.DataFrame({"item_id": ids, "title": [f"title {i}" for i in ids], "genres": ""})


def _textbook_b(model: EASERecommender, regularization: float, zero_diagonal: bool) -> np.ndarray:
    """B over every catalog item from (XᵀX + λI)⁻¹ in float64, no item left out."""
    x = model.catalog.history.astype(np.float64).toarray()
    p = np.linalg.inv(x.T @ x + regularization * np.eye(x.shape[1]))
    if zero_diagonal:
        b = -p / np.diag(p)[None, :]
        np.fill_diagonal(b, 0.0)
        return b
    return np.eye(x.shape[1]) - p * regularization


@pytest.mark.parametrize("zero_diagonal", [True, False])
def test_active_items_give_the_whole_catalogs_b(zero_diagonal: bool) -> None:
    frame = _interactions()
    model = EASERecommender(EASEConfig(regularization=5.0, zero_diagonal=zero_diagonal))
    model.fit(frame, _items(frame))
    n_items = model.catalog.n_items
    assert model.active is not None and len(model.active) < n_items  # some items left out
    expected = _textbook_b(model, 5.0, zero_diagonal)
    users = np.arange(model.catalog.n_users)
    history = model.catalog.history.astype(np.float64).toarray()
    np.testing.assert_allclose(model.score_users(users), history @ expected, atol=1e-4)
    for item in range(n_items):
        np.testing.assert_allclose(model.score_similar(item), expected[item], atol=1e-4)
    untouched = np.setdiff1d(np.arange(n_items), model.active)
    assert not model.score_users(users)[:, untouched].any()


def test_every_item_active_keeps_the_full_matrix() -> None:
    model = EASERecommender(EASEConfig(regularization=5.0)).fit(_interactions())
    assert model.active is None
    assert model.weights.shape == (model.catalog.n_items, model.catalog.n_items)


def test_active_items_survive_save_and_load(tmp_path: Path) -> None:
    frame = _interactions()
    model = EASERecommender(EASEConfig(regularization=5.0)).fit(frame, _items(frame))
    model.save(tmp_path / "ease")
    loaded = load_recommender(tmp_path / "ease")
    np.testing.assert_array_equal(loaded.active, model.active)
    users = [f"u{n}" for n in range(40)]
    assert loaded.recommend_batch(users, 10) == model.recommend_batch(users, 10)
    assert loaded.similar_items("i3", 5) == model.similar_items("i3", 5)


def test_a_model_saved_with_every_items_row_still_loads(tmp_path: Path) -> None:
    frame = _interactions()
    model = EASERecommender(EASEConfig(regularization=5.0)).fit(frame, _items(frame))
    model.save(tmp_path / "ease")
    # rewrite the weights as the code before saved them: one row per catalog item, no `active`
    assert model.active is not None
    full = np.zeros((model.catalog.n_items,) * 2, dtype=np.float32)
    full[np.ix_(model.active, model.active)] = model.weights
    arrays = load_arrays(tmp_path / "ease" / WEIGHTS_FILE)
    arrays.pop("active")
    arrays["weights"] = full
    save_arrays(tmp_path / "ease" / WEIGHTS_FILE, **arrays)
    loaded = load_recommender(tmp_path / "ease")
    assert loaded.active is None
    users = [f"u{n}" for n in range(40)]
    assert loaded.recommend_batch(users, 10) == model.recommend_batch(users, 10)


def test_columns_keeps_rows_and_drops_unmapped_columns() -> None:
    rows = sp.csr_matrix(np.array([[1.0, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 4]]))
    position = np.array([0, -1, 1, -1])
    np.testing.assert_array_equal(
        _columns(rows, position, 2).toarray(), [[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]]
    )
