"""Users × items sparse matrices from canonical interaction frames, and their weighting schemes.

Collaborative-filtering models see interactions as a CSR matrix (rows users, columns items).
Two decisions hide in that conversion and are made explicit here: what to do when a user touched
an item twice (`duplicates`), and how raw values become model inputs (`InteractionWeighting`).
Weightings that depend on corpus statistics (BM25) are fitted once on the training matrix and
keep those statistics, so a new user's row can be weighted exactly like the training rows (needed
for fold-in of users the model has never seen).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd
import scipy.sparse as sp

from data import schemas as S
from features.idmap import MISSING, IdMap

logger = logging.getLogger(__name__)

DuplicatePolicy = Literal["sum", "max", "last", "error"]
WeightingScheme = Literal["binary", "rating", "bm25", "tfidf", "confidence"]
UnknownPolicy = Literal["error", "drop"]


@dataclass(frozen=True)
class InteractionMatrix:
    """A users × items CSR matrix with the id maps of its rows and columns.

    `left_out` (same shape, ones; None when there were none) holds the pairs whose merged
    rating was 0 or below: not in `matrix`, but seen by their user all the same.
    """

    matrix: sp.csr_matrix
    users: IdMap
    items: IdMap
    left_out: sp.csr_matrix | None = None


def deduplicate(frame: pd.DataFrame, duplicates: DuplicatePolicy = "sum") -> pd.DataFrame:
    """One row per (user, item): sum values, keep the max, keep the latest, or refuse.

    "sum" suits implicit events (plays, clicks); "last" suits explicit ratings a user revised
    (latest timestamp wins, ties broken by row order); "error" makes duplicates a data bug.
    """
    if duplicates not in get_args(DuplicatePolicy):
        raise ValueError(
            f"duplicates must be one of {get_args(DuplicatePolicy)}, got {duplicates!r}"
        )
    keys = [S.USER_ID, S.ITEM_ID]
    repeated = frame.duplicated(keys, keep=False)
    if not repeated.any():
        return frame
    if duplicates == "error":
        first = frame.loc[repeated, keys].iloc[0]
        raise ValueError(
            f"duplicate interaction for user '{first[S.USER_ID]}' and item '{first[S.ITEM_ID]}' "
            f"({int(repeated.sum())} duplicated rows); choose duplicates='sum'|'max'|'last'"
        )
    logger.info(
        "merging %d duplicated interaction rows with policy %s", int(repeated.sum()), duplicates
    )
    if duplicates == "last":
        if S.TIMESTAMP not in frame.columns:
            raise ValueError("duplicates='last' needs a timestamp column")
        ordered = frame.assign(_row=np.arange(len(frame))).sort_values([S.TIMESTAMP, "_row"])
        return ordered.drop_duplicates(keys, keep="last").drop(columns="_row")
    aggregated = frame.groupby(keys, sort=False, as_index=False).agg(
        {S.RATING: duplicates, **({S.TIMESTAMP: "max"} if S.TIMESTAMP in frame.columns else {})}
    )
    return aggregated


def build_interaction_matrix(
    frame: pd.DataFrame,
    users: IdMap | None = None,
    items: IdMap | None = None,
    duplicates: DuplicatePolicy = "sum",
    unknown: UnknownPolicy = "error",
) -> InteractionMatrix:
    """CSR of the frame's ratings (float32) over `users` × `items`; pairs rated 0 or below left out.

    Maps default to the sorted distinct ids of the frame. With given maps, rows naming ids outside
    them raise (unknown="error", message names the id) or are dropped (unknown="drop", e.g. test
    interactions of items the model never saw). Duplicates are merged as `deduplicate` does, on
    the integer (row, column) codes: tens of millions of rows cost seconds, not a string groupby.
    """
    for column in (S.USER_ID, S.ITEM_ID):
        if column not in frame.columns:
            raise ValueError(f"interactions frame lacks required column '{column}'")
    if duplicates not in get_args(DuplicatePolicy):
        raise ValueError(
            f"duplicates must be one of {get_args(DuplicatePolicy)}, got {duplicates!r}"
        )
    if S.RATING in frame.columns:
        values = pd.to_numeric(frame[S.RATING], errors="coerce")
        if values.isna().any():
            bad = frame.loc[values.isna(), S.RATING].iloc[0]
            raise ValueError(f"column '{S.RATING}' holds a non-numeric or missing value: {bad!r}")
        ratings = values.to_numpy(dtype=np.float64)
    else:
        ratings = np.ones(len(frame), dtype=np.float64)
    if duplicates == "last" and S.TIMESTAMP not in frame.columns:
        raise ValueError("duplicates='last' needs a timestamp column")
    if users is None:
        users, rows = IdMap.encode(frame[S.USER_ID])
    else:
        rows = users.lookup(frame[S.USER_ID])
    if items is None:
        items, cols = IdMap.encode(frame[S.ITEM_ID])
    else:
        cols = items.lookup(frame[S.ITEM_ID])
    outside = (rows == MISSING) | (cols == MISSING)
    if outside.any():
        if unknown == "error":
            where = int(np.flatnonzero(outside)[0])
            kind, value = (
                ("user", frame[S.USER_ID].iloc[where])
                if rows[where] == MISSING
                else ("item", frame[S.ITEM_ID].iloc[where])
            )
            raise ValueError(f"interaction names {kind} '{value}' which is not in the id map")
        logger.info("dropping %d interactions outside the id maps", int(outside.sum()))
        keep = ~outside
        rows, cols, ratings = rows[keep], cols[keep], ratings[keep]
        frame = frame.loc[keep]
    if duplicates != "sum":
        timestamps = frame[S.TIMESTAMP].to_numpy() if duplicates == "last" else None
        rows, cols, ratings = _merge_duplicates(
            rows, cols, ratings, timestamps, len(items), duplicates, users, items
        )
    # Building a CSR sums the values of repeated (row, col) pairs in C: the "sum" policy.
    matrix = sp.csr_matrix(
        (ratings, (rows, cols)), shape=(len(users), len(items)), dtype=np.float64
    )
    matrix.sum_duplicates()
    if duplicates == "sum" and matrix.nnz < len(rows):
        logger.info(
            "merging %d duplicated interaction rows with policy sum", len(rows) - matrix.nnz
        )
    not_positive = matrix.data <= 0
    left_out = None
    if not_positive.any():
        # A (merged) rating of 0 or below, such as a 0-5 scale's zero or a thumbs-down of -1,
        # says the user did not like the item: no evidence of taste for these models, whose
        # matrices say how much a user engaged. Kept, it broke folding a history into a feed.
        logger.info(
            "leaving out %d interactions rated 0 or below (not positive evidence)",
            int(not_positive.sum()),
        )
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[not_positive]
        ones = np.ones(len(rows), dtype=np.float32)
        left_out = sp.csr_matrix((ones, (rows, matrix.indices[not_positive])), shape=matrix.shape)
        matrix.data[not_positive] = 0.0
        matrix.eliminate_zeros()
    matrix = matrix.astype(np.float32)  # summed in float64, as the frame-level merge does
    matrix.sort_indices()
    return InteractionMatrix(matrix=matrix, users=users, items=items, left_out=left_out)


def _merge_duplicates(
    rows: np.ndarray,
    cols: np.ndarray,
    ratings: np.ndarray,
    timestamps: np.ndarray | None,
    n_items: int,
    duplicates: DuplicatePolicy,
    users: IdMap,
    items: IdMap,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One (row, col, rating) per pair under `duplicates` (see `deduplicate`), by sorting codes."""
    keys = rows * np.int64(n_items) + cols
    if timestamps is None:
        order = np.argsort(keys, kind="stable")  # stable: row order breaks ties
    else:  # by pair, then time, then row order: the last of each pair is the latest
        order = np.lexsort((np.arange(len(keys)), timestamps, keys))
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    merged = len(keys) - len(starts)
    if merged == 0:
        return rows, cols, ratings
    if duplicates == "error":
        first = int(sorted_keys[np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])[0]])
        raise ValueError(
            f"duplicate interaction for user '{users.id_of(first // n_items)}' and item "
            f"'{items.id_of(first % n_items)}' ({merged} rows repeat a pair); choose "
            f"duplicates='sum'|'max'|'last'"
        )
    logger.info("merging %d duplicated interaction rows with policy %s", merged, duplicates)
    in_order = ratings[order]
    if duplicates == "sum":
        merged_ratings = np.add.reduceat(in_order, starts)
    elif duplicates == "max":
        merged_ratings = np.maximum.reduceat(in_order, starts)
    else:  # "last"
        ends = np.r_[starts[1:] - 1, len(keys) - 1]
        merged_ratings = in_order[ends]
    unique_keys = sorted_keys[starts]
    return unique_keys // n_items, unique_keys % n_items, merged_ratings


def single_row(item_indices: np.ndarray, values: np.ndarray, n_items: int) -> sp.csr_matrix:
    """A 1 × n_items CSR row (duplicates summed): the history of a user the model does not know."""
    row = sp.csr_matrix(
        (
            np.asarray(values, dtype=np.float32),
            (np.zeros(len(item_indices), dtype=np.int64), np.asarray(item_indices, dtype=np.int64)),
        ),
        shape=(1, n_items),
        dtype=np.float32,
    )
    row.sum_duplicates()
    row.sort_indices()
    return row


class InteractionWeighting:
    """Turns raw interaction values into model inputs; fitted once, applied to any rows.

    Schemes:
      - binary: 1 for every interaction (presence is the signal).
      - rating: the raw value.
      - confidence: 1 + alpha * value (Hu, Koren & Volinsky's confidence for implicit ALS).
      - bm25 / tfidf: implicit's `bm25_weight` / `tfidf_weight` applied, as in implicit's own
        examples, to the items × users matrix: idf down-weights users with long histories, BM25's
        length norm uses each item's training total. Item totals are fitted, the per-user idf only
        needs that user's row, so unseen users are weighted consistently.
    `binarize` replaces values by 1 before bm25/tfidf/confidence (presence-only data).
    """

    def __init__(
        self,
        scheme: WeightingScheme = "binary",
        alpha: float = 1.0,
        k1: float = 100.0,
        b: float = 0.8,
        binarize: bool = False,
    ) -> None:
        if scheme not in get_args(WeightingScheme):
            raise ValueError(
                f"weighting scheme must be one of {get_args(WeightingScheme)}, got {scheme!r}"
            )
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if k1 <= 0:
            raise ValueError(f"k1 must be > 0, got {k1}")
        if not 0.0 <= b <= 1.0:
            raise ValueError(f"b must be in [0, 1], got {b}")
        self.scheme = scheme
        self.alpha = float(alpha)
        self.k1 = float(k1)
        self.b = float(b)
        self.binarize = binarize
        self.item_totals: np.ndarray | None = None  # bm25 length statistics, fitted

    def fit(self, matrix: sp.csr_matrix) -> InteractionWeighting:
        if self.scheme == "bm25":
            base = self._base_values(sp.csr_matrix(matrix))
            self.item_totals = np.asarray(base.sum(axis=0), dtype=np.float64).ravel()
        return self

    def fit_transform(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        return self.fit(matrix).transform(matrix)

    def transform(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """Weighted float32 copy of `matrix` (same shape and sparsity pattern)."""
        out = self._base_values(sp.csr_matrix(matrix, dtype=np.float64))
        if self.scheme == "binary":
            out.data[:] = 1.0
        elif self.scheme == "confidence":
            out.data = 1.0 + self.alpha * out.data
        elif self.scheme in ("bm25", "tfidf"):
            out = self._idf_weight(out)
        return out.astype(np.float32)

    def _base_values(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        out = matrix.copy()
        out.eliminate_zeros()
        if self.binarize:
            out.data[:] = 1.0
        return out

    def _idf_weight(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        n_items = matrix.shape[1]
        row_lengths = np.diff(matrix.indptr)
        idf = np.log(float(n_items)) - np.log1p(row_lengths.astype(np.float64))
        row_of_entry = np.repeat(np.arange(matrix.shape[0]), row_lengths)
        data = matrix.data
        if self.scheme == "tfidf":
            matrix.data = np.sqrt(data) * idf[row_of_entry]
            return matrix
        if self.item_totals is None:
            raise RuntimeError("bm25 weighting must be fitted before transform")
        if len(self.item_totals) != n_items:
            raise ValueError(
                f"bm25 weighting was fitted on {len(self.item_totals)} items, "
                f"got a matrix with {n_items}"
            )
        average = float(self.item_totals.mean()) or 1.0
        length_norm = (1.0 - self.b) + self.b * self.item_totals / average
        cols = matrix.indices
        matrix.data = (
            data * (self.k1 + 1.0) / (self.k1 * length_norm[cols] + data) * idf[row_of_entry]
        )
        return matrix

    def state(self) -> dict[str, np.ndarray]:
        """Fitted statistics as arrays (saved in a model's .npz)."""
        return {} if self.item_totals is None else {"weighting_item_totals": self.item_totals}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        if "weighting_item_totals" in arrays:
            self.item_totals = np.asarray(arrays["weighting_item_totals"], dtype=np.float64)
