"""Item-based k-nearest-neighbours on implicit's Cosine / BM25 / TF-IDF item similarities.

implicit computes a sparse items × items similarity keeping each item's K nearest neighbours;
a user's scores are their history row times that matrix. A user the model has never seen is
scored the same way from the items describing them (item-sum), so cold users need no refit.

implicit fits on float64 input, but the similarity is kept, saved and applied in float32: its
values are cosine-like weights whose ranking needs no more than single precision, and scoring
float32 rows against a float32 matrix avoids an upcast copy of the similarity on every call.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.artifacts import load_sparse, save_sparse
from models.recommenders.base import Recommender
from models.recommenders.contract import RecommenderConfig
from models.recommenders.fitted_catalog import FittedCatalog

logger = logging.getLogger(__name__)

SIMILARITY_FILE = "similarity.npz"


class ItemKNNConfig(RecommenderConfig):
    """similarity: cosine | bm25 | tfidf (implicit's item-item recommenders).
    neighbours: K nearest items kept per item. binarize: presence instead of raw values.
    Defaults were chosen on a validation split carved from MovieLens-100K's training part."""

    similarity: Literal["cosine", "bm25", "tfidf"] = "tfidf"
    neighbours: int = Field(default=400, gt=0)
    bm25_k1: float = Field(default=1.2, gt=0.0)
    bm25_b: float = Field(default=0.75, ge=0.0, le=1.0)
    binarize: bool = True
    num_threads: int = Field(default=0, ge=0)


class ItemKNNRecommender(Recommender):
    model_type = "itemknn"
    config_class = ItemKNNConfig
    config: ItemKNNConfig

    def __init__(self, config: ItemKNNConfig | None = None) -> None:
        super().__init__(config)
        self._similarity = sp.csr_matrix((0, 0), dtype=np.float32)

    def _inputs(self, rows: sp.csr_matrix, dtype: type = np.float32) -> sp.csr_matrix:
        out = sp.csr_matrix(rows, dtype=dtype, copy=True)
        if self.config.binarize:
            out.data[:] = 1.0
        return out

    def _fit(self, catalog: FittedCatalog) -> None:
        from implicit.nearest_neighbours import (
            BM25Recommender,
            CosineRecommender,
            TFIDFRecommender,
        )

        config = self.config
        if config.similarity == "bm25":
            knn = BM25Recommender(
                K=config.neighbours,
                K1=config.bm25_k1,
                B=config.bm25_b,
                num_threads=config.num_threads,
            )
        elif config.similarity == "tfidf":
            knn = TFIDFRecommender(K=config.neighbours, num_threads=config.num_threads)
        else:
            knn = CosineRecommender(K=config.neighbours, num_threads=config.num_threads)
        with warnings.catch_warnings():
            # implicit's own bm25/tfidf weighting hands its kNN a COO matrix and then warns
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            # implicit's ItemItemRecommender needs float64 (float32 raises a buffer dtype error)
            knn.fit(self._inputs(catalog.history, np.float64), show_progress=False)
        self._similarity = sp.csr_matrix(knn.similarity, dtype=np.float32)

    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray((self._inputs(rows) @ self._similarity).toarray())

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self._scores(self.catalog.history_rows(user_indices))

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        return self._scores(rows)

    def score_similar(self, item_index: int) -> np.ndarray:
        return self._similarity[item_index].toarray().ravel()

    def _save_weights(self, folder: Path) -> None:
        save_sparse(folder / SIMILARITY_FILE, self._similarity)

    def _load_weights(self, folder: Path) -> None:
        # artifacts saved before the float32 change hold float64: cast on load
        self._similarity = load_sparse(folder / SIMILARITY_FILE).astype(np.float32)
