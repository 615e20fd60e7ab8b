"""Sorting in runs on several cores gives numpy's sort, whatever the values and run count."""

from __future__ import annotations

import numpy as np
import pytest

from features import parallel_sort
from features.parallel_sort import sort_in_place, sorted_copy

VALUES = {
    "random int64": np.random.default_rng(0).integers(-(2**62), 2**62, 10_001),
    "few distinct": np.random.default_rng(1).integers(0, 3, 9_999),
    "ascending": np.arange(5_000, dtype=np.int64),
    "descending": np.arange(5_000, dtype=np.int64)[::-1].copy(),
    "float64 with ties": np.round(np.random.default_rng(2).normal(size=7_777), 1),
    "uint32": np.random.default_rng(3).integers(0, 2**32, 6_000).astype(np.uint32),
}


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
@pytest.mark.parametrize("cores", [1, 2, 3, 8])
def test_runs_sorted_on_threads_equal_numpy_sort(
    values: np.ndarray, cores: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel_sort, "MIN_PARALLEL", 100)  # several runs on small arrays
    expected = np.sort(values)
    result = values.copy()
    sort_in_place(result, cores=cores)
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(sorted_copy(values, cores=cores), expected)


def test_sorts_in_place_through_a_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """Callers sort their own buffer (no copy): the caller's array is the sorted one."""
    monkeypatch.setattr(parallel_sort, "MIN_PARALLEL", 10)
    buffer = np.random.default_rng(4).integers(0, 1000, 400)
    sort_in_place(buffer[100:], cores=2)
    assert (np.diff(buffer[100:]) >= 0).all()


def test_refuses_more_than_one_dimension() -> None:
    with pytest.raises(ValueError, match="1-D"):
        sort_in_place(np.zeros((3, 3)))
