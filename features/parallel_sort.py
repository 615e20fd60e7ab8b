"""Sorting a large integer array on every core numpy's own sort leaves idle.

`ndarray.sort` runs on one core. Training sorts tens of millions of packed integer keys before
the fit (pairs, the split's draws, the held-out fingerprint), when the other cores have nothing to
do. Here each core sorts one contiguous run in place (numpy releases the GIL while it sorts), and
a stable sort then merges the runs: numpy's stable sort of 64-bit integers is a timsort, which
finds the sorted runs and merges them in linear time. 20M keys on 2 cores: 0.8 s against 1.35 s.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Below this many values a thread pool costs more than it saves.
MIN_PARALLEL = 1 << 20


def available_cores() -> int:
    """Cores this process may run on (its affinity, where the platform reports one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def sort_in_place(values: np.ndarray, cores: int | None = None) -> None:
    """Sort the 1-D array `values` in place, ascending, as `values.sort()` does: in runs of at
    least `MIN_PARALLEL` values, one per core."""
    if values.ndim != 1:
        raise ValueError(f"sort_in_place sorts 1-D arrays, got {values.ndim} dimensions")
    cores = available_cores() if cores is None else cores
    runs = min(cores, len(values) // max(MIN_PARALLEL, 1))
    if runs < 2:
        values.sort()
        return
    bounds = np.linspace(0, len(values), runs + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=runs) as pool:
        list(pool.map(lambda run: values[bounds[run] : bounds[run + 1]].sort(), range(runs)))
    values.sort(kind="stable")  # merges the sorted runs


def sorted_copy(values: np.ndarray, cores: int | None = None) -> np.ndarray:
    """`np.sort(values)` on every core."""
    result = np.array(values, copy=True)
    sort_in_place(result, cores)
    return result
