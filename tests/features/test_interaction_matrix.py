"""CSR building, duplicate policies and weighting schemes (checked against implicit's own)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from implicit.nearest_neighbours import bm25_weight, tfidf_weight

from features.idmap import IdMap
from features.interactions import (
    InteractionWeighting,
    build_interaction_matrix,
    deduplicate,
    single_row,
)


def frame(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


def test_matrix_layout_follows_sorted_id_maps() -> None:
    built = build_interaction_matrix(frame([("u2", "b", 5.0, 1), ("u1", "a", 3.0, 2)]))
    assert built.users.ids == ["u1", "u2"] and built.items.ids == ["a", "b"]
    np.testing.assert_array_equal(built.matrix.toarray(), [[3.0, 0.0], [0.0, 5.0]])
    assert built.matrix.dtype == np.float32


@pytest.mark.parametrize(("policy", "expected"), [("sum", 5.0), ("max", 4.0), ("last", 1.0)])
def test_duplicate_policies(policy: str, expected: float) -> None:
    rows = frame([("u", "i", 4.0, 10), ("u", "i", 1.0, 20), ("u", "j", 2.0, 5)])
    built = build_interaction_matrix(rows, duplicates=policy)  # type: ignore[arg-type]
    assert built.matrix[0, built.items.index("i")] == pytest.approx(expected)
    assert built.matrix.nnz == 2


@pytest.mark.parametrize("policy", ["sum", "max", "last"])
def test_the_matrix_merges_duplicates_as_the_frame_level_deduplicate(policy: str) -> None:
    """The matrix merges on integer codes; `deduplicate` is the frame-level reference."""
    rng = np.random.default_rng(3)
    n = 4000  # 30 users x 25 items: most pairs repeat, some many times; tied timestamps too
    rows = pd.DataFrame(
        {
            "user_id": [f"u{v}" for v in rng.integers(0, 30, n)],
            "item_id": [f"i{v}" for v in rng.integers(0, 25, n)],
            "rating": rng.integers(1, 6, n).astype(float),
            "timestamp": rng.integers(0, 50, n),
        }
    )
    built = build_interaction_matrix(rows, duplicates=policy)  # type: ignore[arg-type]
    expected = deduplicate(rows, policy)  # type: ignore[arg-type]
    dense = np.zeros((len(built.users), len(built.items)))
    for user, item, rating in expected[["user_id", "item_id", "rating"]].itertuples(index=False):
        dense[built.users.index(user), built.items.index(item)] = rating
    np.testing.assert_allclose(built.matrix.toarray(), dense)
    assert built.matrix.has_sorted_indices and built.matrix.nnz == len(expected)


@pytest.mark.parametrize(("policy", "kept"), [("sum", {"i": 5.0}), ("last", {"k": 2.0})])
def test_pairs_rated_zero_or_below_are_left_out_after_merging(
    policy: str, kept: dict[str, float]
) -> None:
    # i: 5 then 0 (sum 5, last 0); j: a thumbs-down; k: 0 then 2 (sum 2, last 2).
    rows = frame(
        [
            ("u", "i", 5.0, 1),
            ("u", "i", 0.0, 2),
            ("u", "j", -1.0, 3),
            ("u", "k", 0.0, 4),
            ("u", "k", 2.0, 5),
            ("v", "k", 0.0, 6),
        ]
    )
    built = build_interaction_matrix(rows, duplicates=policy)  # type: ignore[arg-type]
    matrix = built.matrix.tocoo()
    found = {
        (built.users.ids[r], built.items.ids[c]): v
        for r, c, v in zip(matrix.row, matrix.col, matrix.data, strict=True)
    }
    expected = {("u", item): value for item, value in kept.items()}
    if policy == "sum":
        expected[("u", "k")] = 2.0
    assert found == expected
    assert (built.matrix.data > 0).all()


def test_columnar_id_lookups_equal_the_one_by_one_path() -> None:
    ids = IdMap.from_values(["b", "a", "10", "2"])
    column = pd.Series(["a", "zz", "10", "b", "a"])
    assert ids.lookup(column).tolist() == ids.lookup(list(column)).tolist() == [2, -1, 0, 3, 2]
    numbers = pd.Series([10, 2, 7])  # non-string ids are compared as their str()
    assert ids.lookup(numbers).tolist() == ids.lookup(list(numbers)).tolist() == [0, 1, -1]
    assert IdMap.from_values(pd.Series([3, 1, 3, "x"])) == IdMap.from_values([3, 1, 3, "x"])
    arrow = pd.Series(["b", "c"], dtype="string[pyarrow]")
    assert ids.lookup(arrow).tolist() == [3, -1]


def test_last_uses_timestamps_not_row_order() -> None:
    rows = frame([("u", "i", 1.0, 20), ("u", "i", 4.0, 10)])
    assert deduplicate(rows, "last")["rating"].tolist() == [1.0]


def test_duplicates_error_policy_names_the_pair() -> None:
    with pytest.raises(ValueError, match="user 'u' and item 'i'"):
        build_interaction_matrix(
            frame([("u", "i", 1.0, 1), ("u", "i", 2.0, 2)]), duplicates="error"
        )


def test_given_maps_and_unknown_ids() -> None:
    rows = frame([("u1", "a", 1.0, 1), ("u1", "zzz", 1.0, 2)])
    items = IdMap(["a", "b"])
    with pytest.raises(ValueError, match="item 'zzz'"):
        build_interaction_matrix(rows, items=items)
    built = build_interaction_matrix(rows, items=items, unknown="drop")
    assert built.matrix.shape == (1, 2) and built.matrix.nnz == 1


def test_missing_column_and_bad_values_are_named() -> None:
    with pytest.raises(ValueError, match="'item_id'"):
        build_interaction_matrix(pd.DataFrame({"user_id": ["u"]}))
    with pytest.raises(ValueError, match="'rating'"):
        build_interaction_matrix(frame([("u", "i", float("nan"), 1)]))


@pytest.fixture
def ratings() -> sp.csr_matrix:
    rng = np.random.default_rng(0)
    dense = rng.integers(1, 6, size=(30, 12)) * (rng.random((30, 12)) < 0.4)
    return sp.csr_matrix(dense.astype(np.float32))


def test_simple_schemes(ratings: sp.csr_matrix) -> None:
    binary = InteractionWeighting("binary").fit_transform(ratings)
    assert set(binary.data) == {1.0} and binary.nnz == ratings.nnz
    rating = InteractionWeighting("rating").fit_transform(ratings)
    np.testing.assert_allclose(rating.toarray(), ratings.toarray())
    confidence = InteractionWeighting("confidence", alpha=2.0).fit_transform(ratings)
    np.testing.assert_allclose(confidence.data, 1.0 + 2.0 * ratings.data)


def test_bm25_and_tfidf_match_implicit_on_item_user_orientation(ratings: sp.csr_matrix) -> None:
    ours = InteractionWeighting("bm25", k1=50.0, b=0.6).fit_transform(ratings)
    theirs = bm25_weight(ratings.T.astype(np.float64), K1=50.0, B=0.6).T.tocsr()
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), rtol=1e-5)
    ours = InteractionWeighting("tfidf").fit_transform(ratings)
    theirs = tfidf_weight(ratings.T.astype(np.float64)).T.tocsr()
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), rtol=1e-5)


def test_bm25_weighs_a_new_row_like_a_training_row(ratings: sp.csr_matrix) -> None:
    weighting = InteractionWeighting("bm25").fit(ratings)
    whole = weighting.transform(ratings)
    row = weighting.transform(ratings[[7]])
    np.testing.assert_allclose(row.toarray(), whole[[7]].toarray(), rtol=1e-6)
    restored = InteractionWeighting("bm25")
    restored.load_state(weighting.state())
    np.testing.assert_allclose(restored.transform(ratings).toarray(), whole.toarray())


def test_bm25_needs_fit_and_matching_width(ratings: sp.csr_matrix) -> None:
    with pytest.raises(RuntimeError, match="fitted"):
        InteractionWeighting("bm25").transform(ratings)
    weighting = InteractionWeighting("bm25").fit(ratings)
    with pytest.raises(ValueError, match="12 items"):
        weighting.transform(ratings[:, :5])


def test_binarize_and_validation() -> None:
    row = sp.csr_matrix(np.array([[5.0, 0.0, 2.0]], dtype=np.float32))
    out = InteractionWeighting("confidence", alpha=3.0, binarize=True).transform(row)
    np.testing.assert_allclose(out.data, [4.0, 4.0])
    with pytest.raises(ValueError, match="scheme"):
        InteractionWeighting("log")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        InteractionWeighting("confidence", alpha=-1.0)


def test_single_row_sums_repeated_items() -> None:
    row = single_row(np.array([2, 0, 2]), np.array([1.0, 1.0, 3.0]), 4)
    np.testing.assert_allclose(row.toarray(), [[1.0, 0.0, 4.0, 0.0]])
