"""The recommender contract and the machinery every model shares.

A model implements four scoring hooks on matrix indices (`_fit`, `score_users`,
`score_history`, `score_similar`) plus saving its weights; this base turns them into the public
contract on string ids: seen-item exclusion, genre/id filters, deterministic top-k, errors that
name the id, atomic save and load. Scores are dense per batch of users: with catalogs in the
thousands that is a few MB per 1,000 users and keeps every model's batch path vectorised.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.interactions import single_row
from models.artifacts import atomic_directory
from models.recommenders.artifacts import read_manifest, write_manifest
from models.recommenders.contract import (
    ItemFilter,
    NotFittedError,
    Recommendation,
    RecommenderConfig,
    UnknownItemError,
    UnknownUserError,
)
from models.recommenders.training_data import TrainingData

logger = logging.getLogger(__name__)

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


class Recommender(ABC):
    """Base of every recommender: fit on canonical frames, recommend by string ids.

    Subclasses set `model_type` and `config_class` and implement the scoring hooks. Items without
    any training interaction are never returned unless `serves_cold_items` (content models).
    """

    model_type: ClassVar[str]
    config_class: ClassVar[type[RecommenderConfig]]
    serves_cold_items: ClassVar[bool] = False
    takes_encoder: ClassVar[bool] = False  # the constructor and `load` accept `encoder=`

    def __init__(self, config: RecommenderConfig | None = None) -> None:
        if config is None:
            config = self.config_class()
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        self.config = config
        self._data: TrainingData | None = None
        self._signal = np.zeros(0, dtype=bool)

    def __repr__(self) -> str:
        data = self._data
        state = f"{data.n_users} users × {data.n_items} items" if data else "unfitted"
        return f"{type(self).__name__}({state})"

    # ----- scoring hooks implemented by each model ---------------------------------------------

    @abstractmethod
    def _fit(self, data: TrainingData) -> None:
        """Learn weights from `data` (the history holds raw, deduplicated values)."""

    @abstractmethod
    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """Dense (len(user_indices), n_items) scores for known users."""

    @abstractmethod
    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        """Dense (n_rows, n_items) scores for users given only as history rows (raw values)."""

    @abstractmethod
    def score_similar(self, item_index: int) -> np.ndarray:
        """Scores of every item as a neighbour of `item_index`."""

    @abstractmethod
    def _save_weights(self, folder: Path) -> None: ...

    @abstractmethod
    def _load_weights(self, folder: Path) -> None: ...

    # ----- public contract ------------------------------------------------------------------------

    @property
    def is_fitted(self) -> bool:
        return self._data is not None

    @property
    def data(self) -> TrainingData:
        if self._data is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() or load() first")
        return self._data

    def fit(self, interactions: pd.DataFrame, items: pd.DataFrame | None = None) -> Self:
        """Fit on a canonical interactions frame; `items` adds titles/genres (and catalog items)."""
        data = TrainingData.from_frames(interactions, items, duplicates=self.config.duplicates)
        started = time.perf_counter()
        self._fit(data)
        self._set_data(data)
        logger.info("fitted %s in %.2f s", type(self).__name__, time.perf_counter() - started)
        return self

    def known_user(self, user_id: str) -> bool:
        return user_id in self.data.users

    def known_item(self, item_id: str) -> bool:
        """True when the model can use the item (CF models: it had training interactions)."""
        index = self.data.items.get(item_id)
        return index is not None and (self.serves_cold_items or bool(self._signal_mask()[index]))

    def recommend(
        self,
        user_id: str,
        k: int = 10,
        exclude_seen: bool = True,
        filters: ItemFilter | None = None,
    ) -> list[Recommendation]:
        """Top-k items for a known user; UnknownUserError for users absent at fit time."""
        return self.recommend_batch([user_id], k, exclude_seen, filters)[user_id]

    def recommend_batch(
        self,
        user_ids: Sequence[str],
        k: int = 10,
        exclude_seen: bool = True,
        filters: ItemFilter | None = None,
    ) -> dict[str, list[Recommendation]]:
        """Top-k for many known users at once (scored in dense blocks)."""
        k = check_k(k)
        check_ids(user_ids, "user_ids")
        data = self.data
        indices = data.users.lookup(user_ids)
        for user_id, index in zip(user_ids, indices, strict=True):
            if index < 0:
                raise UnknownUserError(str(user_id))
        allowed = data.allowed_items(filters)
        result: dict[str, list[Recommendation]] = {}
        step = batch_rows(data.n_items)
        for start in range(0, len(indices), step):
            block = indices[start : start + step]
            scores = self.score_users(block)
            seen = data.history[block] if exclude_seen else None
            for user_id, picks in zip(
                user_ids[start : start + step],
                self._select(scores, k, seen, allowed),
                strict=True,
            ):
                result[user_id] = picks
        return result

    def recommend_for_items(
        self,
        item_ids: Sequence[str],
        k: int = 10,
        exclude_seen: bool = True,
        filters: ItemFilter | None = None,
        weights: Sequence[float] | None = None,
    ) -> list[Recommendation]:
        """Top-k for a user the model does not know, described by items they interacted with.

        `weights` are interaction values (default: the training data's median value).
        With exclude_seen the given items are not returned.
        """
        k = check_k(k)
        row = self._history_row(item_ids, weights)
        scores = self.score_history(row)
        return self._select(
            scores, k, row if exclude_seen else None, self.data.allowed_items(filters)
        )[0]

    def similar_items(
        self, item_id: str, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        """The k items most similar to `item_id` (never the item itself)."""
        k = check_k(k)
        index = self._usable_item(item_id)
        scores = np.asarray(self.score_similar(index), dtype=np.float64).reshape(1, -1).copy()
        scores[0, index] = -np.inf
        return self._select(scores, k, None, self.data.allowed_items(filters))[0]

    def save(self, path: str | Path) -> Path:
        """Write the model folder atomically; returns its path."""
        self.data  # noqa: B018  (raises NotFittedError before anything is written)
        with atomic_directory(path) as staging:
            self._write(staging)
        logger.info("saved %s to %s", type(self).__name__, path)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, **init: Any) -> Self:
        """Read a folder written by `save`; `init` goes to the constructor (e.g. `encoder`)."""
        folder = Path(path)
        manifest = read_manifest(folder, expected_type=cls.model_type)
        return cls._read(folder, manifest, **init)

    # ----- shared internals -----------------------------------------------------------------------

    def _write(self, folder: Path) -> None:
        write_manifest(
            folder,
            self.model_type,
            self.config.model_dump(mode="json"),
            n_users=self.data.n_users,
            n_items=self.data.n_items,
        )
        self.data.save(folder)
        self._save_weights(folder)

    @classmethod
    def _read(cls, folder: Path, manifest: dict[str, Any], **init: Any) -> Self:
        model = cls(cls.config_class.from_mapping(manifest["config"]), **init)
        model._set_data(TrainingData.load(folder))
        model._load_weights(folder)
        return model

    def _set_data(self, data: TrainingData) -> None:
        self._data = data
        self._signal = data.has_interactions

    def _signal_mask(self) -> np.ndarray:
        """Boolean per item: had training interactions (what CF models can score)."""
        self.data  # noqa: B018  (NotFittedError first)
        return self._signal

    def _usable_item(self, item_id: str) -> int:
        index = self.data.items.get(item_id)
        if index is None:
            raise UnknownItemError(item_id)
        if not self.serves_cold_items and not self._signal_mask()[index]:
            raise UnknownItemError(
                item_id,
                "it had no interactions at fit time, so this "
                "collaborative model cannot relate it to other items",
            )
        return index

    def _history_row(
        self, item_ids: Sequence[str], weights: Sequence[float] | None
    ) -> sp.csr_matrix:
        check_ids(item_ids, "item_ids")
        if len(item_ids) == 0:
            raise ValueError("item_ids is empty: describe the user by at least one item")
        indices = np.array([self._usable_item(item_id) for item_id in item_ids], dtype=np.int64)
        if weights is None:
            values = np.full(len(indices), self.data.typical_value, dtype=np.float32)
        else:
            if len(weights) != len(item_ids):
                raise ValueError(f"weights has {len(weights)} values for {len(item_ids)} items")
            values = np.asarray(weights, dtype=np.float32)
            if not np.isfinite(values).all() or (values <= 0).any():
                raise ValueError("weights must be finite and > 0")
        return single_row(indices, values, self.data.n_items)

    def _select(
        self,
        scores: np.ndarray,
        k: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> list[list[Recommendation]]:
        """Mask what may not be returned, then take the top k of each row."""
        scores = np.array(scores, dtype=np.float64)  # copy: hooks may return cached arrays
        scores[np.isnan(scores)] = -np.inf
        if not self.serves_cold_items:
            scores[:, ~self._signal_mask()] = -np.inf
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        if seen is not None and seen.nnz:
            rows, cols = seen.nonzero()
            scores[rows, cols] = -np.inf
        items = self.data.items
        return [
            [Recommendation(items.id_of(int(i)), float(row[i])) for i in picked]
            for row, picked in zip(scores, top_k(scores, k), strict=True)
        ]
