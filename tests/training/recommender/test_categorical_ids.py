"""The training pipeline reads ids as sorted categoricals (`data.id_categories`); every step
must answer exactly as it does for the same ids as plain strings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data import schemas as S
from data.id_categories import with_sorted_categories
from data.schemas import Kind, conform
from features.splits import stratified_split
from models.recommenders.fitted_catalog import FittedCatalog
from training.recommender.evaluate import item_popularity, relevant_items, sample_test_users


def _interactions(rows: int = 400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # "solo" has one interaction, which a 0.75 split holds out: its item is in no training row.
    return pd.DataFrame(
        {
            S.USER_ID: [*(f"u{n}" for n in rng.integers(0, 40, rows)), "solo"],
            S.ITEM_ID: [*(f"i{n}" for n in rng.integers(0, 30, rows)), "only-held-out"],
            S.RATING: [*rng.integers(1, 6, rows).astype(float), 1.0],
            S.TIMESTAMP: np.arange(rows + 1, dtype=np.int64),
        }
    )


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({S.USER_ID: str, S.ITEM_ID: str})


def test_the_split_puts_the_same_rows_on_each_side() -> None:
    plain = _interactions()
    coded = with_sorted_categories(plain)
    parts = zip(stratified_split(coded, 0.75, 42), stratified_split(plain, 0.75, 42), strict=True)
    for got, expected in parts:
        pd.testing.assert_frame_equal(_as_text(got), expected)


def test_the_fitted_catalog_has_the_same_maps_and_history() -> None:
    plain = _interactions()
    items = pd.DataFrame({S.ITEM_ID: ["i5", "i99"], S.TITLE: ["five", "ninety-nine"]})
    items = conform(items, Kind.ITEMS)
    coded = FittedCatalog.from_frames(with_sorted_categories(plain), items)
    expected = FittedCatalog.from_frames(plain, items)
    assert coded.users == expected.users
    assert coded.items == expected.items  # the items frame's extra item included
    assert (coded.history != expected.history).nnz == 0


def test_evaluation_ignores_ids_without_rows_in_the_part_it_scores() -> None:
    plain = _interactions()
    train, test = stratified_split(with_sorted_categories(plain), 0.75, 42)
    train_plain, test_plain = stratified_split(plain, 0.75, 42)
    # The categories still list every id of the whole dataset; counts of zero are not items.
    assert "only-held-out" in train[S.ITEM_ID].cat.categories
    assert item_popularity(train) == item_popularity(train_plain)
    assert relevant_items(test) == relevant_items(test_plain)
    sampled, total = sample_test_users(test, 5, seed=1)
    sampled_plain, total_plain = sample_test_users(test_plain, 5, seed=1)
    assert total == total_plain
    pd.testing.assert_frame_equal(_as_text(sampled), sampled_plain)
