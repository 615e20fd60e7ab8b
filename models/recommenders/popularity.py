"""Most-popular baseline: the same ranking for everyone, minus what they have seen.

It is the floor every personalised model must beat, and the fallback of the hybrid when nothing
is known about a user.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp

from models.artifacts import load_arrays, save_arrays
from models.recommenders.base import Recommender
from models.recommenders.contract import RecommenderConfig
from models.recommenders.fitted_catalog import FittedCatalog

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "popularity.npz"


class PopularityConfig(RecommenderConfig):
    """measure: "users" counts distinct users per item, "value" sums interaction values."""

    measure: Literal["users", "value"] = "users"


class PopularityRecommender(Recommender):
    """Items ranked by popularity; `recommend_for_items` and `similar_items` give that same
    ranking (minus the given items)."""

    model_type = "popularity"
    config_class = PopularityConfig
    config: PopularityConfig

    def __init__(self, config: PopularityConfig | None = None) -> None:
        super().__init__(config)
        self._scores = np.zeros(0)

    def _fit(self, catalog: FittedCatalog) -> None:
        if self.config.measure == "users":
            self._scores = catalog.popularity
        else:
            self._scores = np.asarray(catalog.history.sum(axis=0), dtype=np.float64).ravel()

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self._scores, (len(user_indices), len(self._scores)))

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self._scores, (rows.shape[0], len(self._scores)))

    def score_similar(self, item_index: int) -> np.ndarray:
        return self._scores

    def _save_weights(self, folder: Path) -> None:
        save_arrays(folder / WEIGHTS_FILE, scores=self._scores)

    def _load_weights(self, folder: Path) -> None:
        self._scores = load_arrays(folder / WEIGHTS_FILE)["scores"]
