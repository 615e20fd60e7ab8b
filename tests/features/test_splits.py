"""Splits: per-user stratified (Microsoft Recommenders' protocol), leave-last-k, time cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import parallel_sort
from features.splits import (
    SplitTooSmallError,
    _in_train,
    _in_train_exact,
    _user_draw_order,
    drop_cold_start,
    leave_last_k_out,
    require_both_parts,
    stratified_split,
    time_cutoff_split,
)


@pytest.fixture
def interactions() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for user in range(25):
        n = int(rng.integers(1, 30))
        for item in rng.choice(200, size=n, replace=False):
            rows.append((f"u{user}", f"i{item}", float(rng.integers(1, 6)), int(rng.integers(1e9))))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


def upstream_stratified(frame: pd.DataFrame, ratio: float, seed: int) -> pd.DataFrame:
    """python_stratified_split's steps (rank/count <= ratio after a seeded random order)."""
    data = frame.copy()
    np.random.seed(seed)
    data["random"] = np.random.rand(data.shape[0])
    data = data.sort_values(["user_id", "random"])
    groups = data.groupby("user_id")
    data["rank"] = (groups.cumcount() + 1) / groups["user_id"].transform("count")
    return data[data["rank"] <= ratio].drop(columns=["random", "rank"])


def key(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"], frame["item_id"], strict=True))


def test_stratified_matches_upstream_row_for_row(interactions: pd.DataFrame) -> None:
    train, test = stratified_split(interactions, ratio=0.75, seed=42)
    assert key(train) == key(upstream_stratified(interactions, 0.75, 42))
    assert key(train) | key(test) == key(interactions) and not key(train) & key(test)


@pytest.fixture(params=["one run", "runs of 1,000"])
def sort_runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The split's sorts in one run, or in runs of 1,000 values on several threads (what 20M
    rows take on 2 cores): the answer must not depend on it."""
    if request.param == "runs of 1,000":
        monkeypatch.setattr(parallel_sort, "MIN_PARALLEL", 1_000)
        monkeypatch.setattr(parallel_sort, "available_cores", lambda: 3)


@pytest.mark.parametrize("numeric_ids", [False, True])
@pytest.mark.usefixtures("sort_runs")
def test_stratified_matches_upstream_on_many_users_and_repeated_pairs(numeric_ids: bool) -> None:
    """Upstream's split of the distinct pairs (first rows), with every repeat following its pair."""
    rng = np.random.default_rng(8)
    users = rng.integers(0, 700, 20_000)  # ids sort differently as numbers and as strings
    frame = pd.DataFrame(
        {
            "user_id": users if numeric_ids else [f"u{u}" for u in users],
            "item_id": [f"i{i}" for i in rng.integers(0, 50, 20_000)],
        }
    )
    distinct = frame.drop_duplicates(["user_id", "item_id"])
    assert len(distinct) < len(frame) - 4_000  # many pairs repeat
    for ratio, seed in ((0.75, 42), (0.5, 3)):
        train, test = stratified_split(frame, ratio=ratio, seed=seed)
        expected = key(upstream_stratified(distinct, ratio, seed))
        assert key(train) == expected
        assert not key(train) & key(test)  # no pair on both sides
        in_expected = [pair in expected for pair in key_rows(frame)]
        assert len(train) == sum(in_expected) and len(train) + len(test) == len(frame)


def key_rows(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(frame["user_id"], frame["item_id"], strict=True))


def test_repeated_events_of_a_pair_never_land_in_both_parts() -> None:
    """Regression: duplicates were merged after the split, so 44 of 1,935 test pairs of a user's
    import were also training pairs: items a feed never recommends, scored as misses."""
    frame = pd.DataFrame(
        {
            "user_id": ["a"] * 12 + ["b"] * 12,
            "item_id": [f"i{k % 4}" for k in range(12)] * 2,  # each pair three times
        }
    )
    for seed in range(20):
        train, test = stratified_split(frame, ratio=0.5, seed=seed)
        assert not key(train) & key(test)
        assert train.groupby("user_id")["item_id"].nunique().tolist() == [2, 2]
        assert len(train) == 12 and len(test) == 12


def test_stratified_keeps_floor_of_ratio_per_user(interactions: pd.DataFrame) -> None:
    train, _ = stratified_split(interactions, ratio=0.75, seed=1)
    sizes = interactions.groupby("user_id").size()
    kept = train.groupby("user_id").size().reindex(sizes.index, fill_value=0)
    expected = np.floor(sizes * 0.75 + 1e-9).astype(int)
    pd.testing.assert_series_equal(kept, expected, check_names=False)


def test_stratified_is_deterministic_by_seed(interactions: pd.DataFrame) -> None:
    first, _ = stratified_split(interactions, seed=5)
    again, _ = stratified_split(interactions, seed=5)
    other, _ = stratified_split(interactions, seed=6)
    pd.testing.assert_frame_equal(first, again)
    assert key(first) != key(other)


def test_stratified_min_interactions_and_bad_ratio(interactions: pd.DataFrame) -> None:
    train, test = stratified_split(interactions, min_interactions=10)
    sizes = interactions.groupby("user_id").size()
    assert set(train["user_id"]) | set(test["user_id"]) == set(sizes[sizes >= 10].index)
    with pytest.raises(ValueError, match="ratio"):
        stratified_split(interactions, ratio=1.0)


def test_leave_last_k_out_takes_latest(interactions: pd.DataFrame) -> None:
    train, test = leave_last_k_out(interactions, k=2, min_train=1)
    for user, rows in interactions.groupby("user_id"):
        held = test[test["user_id"] == user]
        if len(rows) < 3:
            assert held.empty
            continue
        assert len(held) == 2
        kept = train[train["user_id"] == user]
        assert held["timestamp"].min() >= kept["timestamp"].max()


def test_time_cutoff(interactions: pd.DataFrame) -> None:
    cutoff = int(interactions["timestamp"].median())
    train, test = time_cutoff_split(interactions, cutoff=cutoff)
    assert (train["timestamp"] < cutoff).all() and (test["timestamp"] >= cutoff).all()
    assert len(train) + len(test) == len(interactions)
    _, test = time_cutoff_split(interactions, test_fraction=0.2)
    assert abs(len(test) / len(interactions) - 0.2) < 0.05
    with pytest.raises(ValueError, match="exactly one"):
        time_cutoff_split(interactions)


def test_drop_cold_start() -> None:
    train = pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"]})
    test = pd.DataFrame({"user_id": ["a", "c", "b"], "item_id": ["y", "x", "z"]})
    assert key(drop_cold_start(train, test)) == {("a", "y")}


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="'timestamp'"):
        leave_last_k_out(pd.DataFrame({"user_id": ["a"], "item_id": ["x"]}))


@pytest.mark.parametrize(("rows", "users"), [(1, 1), (10, 3), (1000, 7), (20000, 900)])
@pytest.mark.usefixtures("sort_runs")
def test_user_draw_order_is_lexsort_order_with_tied_draws(rows: int, users: int) -> None:
    codes = np.random.default_rng(1).integers(0, users, rows)
    draws = np.random.RandomState(3).rand(rows)
    third = rows // 3
    draws[:third] = draws[third : 2 * third]  # equal draws, within users too: the row decides
    expected = np.lexsort((np.arange(rows), draws, codes))
    np.testing.assert_array_equal(_user_draw_order(codes, draws), expected)


@pytest.mark.parametrize("draw_bits", [None, 30, 26, 24])
@pytest.mark.parametrize(("rows", "users"), [(1, 1), (50, 3), (5000, 40), (30000, 2000)])
@pytest.mark.usefixtures("sort_runs")
def test_packed_train_mask_equals_the_index_sort(rows: int, users: int, draw_bits: int) -> None:
    """Few draw bits make many keys tie, across the train/test boundary too: those users take
    the exact path, and every row lands where the index sort puts it."""
    codes = np.random.default_rng(2).integers(0, users, rows)
    draws = np.random.RandomState(4).rand(rows)
    draws[: rows // 4] = draws[rows // 4 : 2 * (rows // 4)]  # exactly equal draws as well
    for ratio in (0.75, 0.5, 0.2):
        np.testing.assert_array_equal(
            _in_train(codes, draws, ratio, draw_bits), _in_train_exact(codes, draws, ratio)
        )


def test_kept_per_user_is_upstreams_row_test_counted() -> None:
    from features.splits import _kept_per_user

    sizes = np.arange(0, 3000)
    for ratio in (0.75, 0.5, 0.2, 0.1, 0.3, 0.7, 0.9, 1 / 3):
        expected = [int(np.sum(np.arange(1, n + 1) / n <= ratio)) if n else 0 for n in sizes]
        np.testing.assert_array_equal(_kept_per_user(sizes, ratio), expected)


def test_a_part_with_no_rating_above_zero_is_refused() -> None:
    """Regression: ratings all 0 or below (thumbs-down only) trained a model on no pair,
    evaluated it on 0 users and registered it with every metric 0, exit code 0."""

    def frame(ratings: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {"user_id": "u", "item_id": ["a", "b"][: len(ratings)], "rating": ratings}
        )

    require_both_parts(frame([1.0, -1.0]), frame([2.0]), "dataset 'ok'")
    with pytest.raises(SplitTooSmallError, match="training part of dataset 'd' has no interaction"):
        require_both_parts(frame([0.0, -1.0]), frame([1.0]), "dataset 'd'")
    with pytest.raises(SplitTooSmallError, match="held-out part of dataset 'd'"):
        require_both_parts(frame([1.0]), frame([0.0]), "dataset 'd'")
