from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import schemas as S
from data.synthetic import SyntheticConfig, generate


def _make(tmp_path: Path, seed: int, tag: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    config = SyntheticConfig(interactions=50_000, seed=seed, chunk_rows=20_000)
    inter, items = tmp_path / f"i{tag}.parquet", tmp_path / f"t{tag}.parquet"
    assert generate(config, inter, items) == 50_000
    return pd.read_parquet(inter), pd.read_parquet(items)


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    a, items_a = _make(tmp_path, 3, "a")
    b, items_b = _make(tmp_path, 3, "b")
    c, _ = _make(tmp_path, 4, "c")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(items_a, items_b)
    assert not a.equals(c)


def test_power_law_and_taste_clusters(tmp_path: Path) -> None:
    frame, items = _make(tmp_path, 0, "x")
    counts = frame[S.ITEM_ID].value_counts().to_numpy()
    top_share = counts[: max(1, len(counts) // 100)].sum() / counts.sum()
    assert top_share > 0.05  # the top 1% of items get far more than 1% of events
    genre = dict(zip(items[S.ITEM_ID], items[S.GENRES], strict=True))
    frame["genre"] = frame[S.ITEM_ID].map(genre)
    per_user = frame.groupby(S.USER_ID)["genre"].agg(
        lambda g: g.value_counts(normalize=True).iloc[0]
    )
    heavy = frame[S.USER_ID].value_counts()
    heavy_users = heavy[heavy >= 20].index
    assert np.median(per_user[heavy_users]) > 0.6  # most of a user's events share one cluster
    assert set(items.columns) >= {S.ITEM_ID, S.TITLE, S.ITEM_TEXT, S.GENRES}


def test_invalid_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="in_cluster_share"):
        generate(SyntheticConfig(in_cluster_share=2.0), tmp_path / "a", tmp_path / "b")
