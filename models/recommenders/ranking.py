"""Ranking primitives every recommender shares: argument checks, dense blocks, top-k with ties.

Scores are dense per batch of users: with catalogs in the thousands that is a few MB per 1,000
users and keeps every model's batch path vectorised; `batch_rows` caps a block's size whatever
the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_BATCH_USERS = 1024
MAX_BATCH_CELLS = 2**24  # dense scores per block: 16M float64 = 128 MiB whatever the catalog


def batch_rows(n_items: int) -> int:
    """Users scored per dense block, so a block stays under MAX_BATCH_CELLS scores."""
    return max(1, min(MAX_BATCH_USERS, MAX_BATCH_CELLS // max(n_items, 1)))


def check_k(k: object) -> int:
    """`k` as a positive int, or ValueError naming the value."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def check_ids(ids: Sequence[str], name: str) -> None:
    """TypeError for a bare string where a sequence of ids belongs (it would iterate its chars)."""
    if isinstance(ids, str):
        raise TypeError(f"{name} must be a sequence of ids, not a single string")


def top_k(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Per row, indices of the k best finite scores: score descending, then index ascending.

    The tie rule makes results independent of how a batch was formed; -inf marks excluded items,
    so a row can return fewer than k.
    """
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    if n_cols == 0 or k == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(n_rows)]
    kth = np.partition(scores, n_cols - k, axis=1)[:, n_cols - k]
    picked = []
    for row, threshold in zip(scores, kth, strict=True):
        candidates = (
            np.flatnonzero(row >= threshold)
            if np.isfinite(threshold)
            else np.flatnonzero(np.isfinite(row))
        )
        candidates = candidates[np.isfinite(row[candidates])]
        order = np.lexsort((candidates, -row[candidates]))[:k]
        picked.append(candidates[order])
    return picked
