"""Content recommender: sentence embeddings of item text, user profile = mean of their items.

Item vectors come from the sentence encoder over each item's assembled text (title, genres,
description), so every catalog item can be served, including items nobody interacted with yet,
and a free-text query ("space adventure") can be answered directly. The artifact stores the item
vectors and the encoder's name; the encoder itself is loaded only to embed new text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.embeddings import (
    DEFAULT_ENCODER,
    EmbeddingCache,
    TextEncoder,
    shared_text_encoder,
)
from features.item_text import assemble_item_texts
from models.artifacts import load_arrays, save_arrays
from models.recommenders.base import Recommender
from models.recommenders.contract import RecommenderConfig
from models.recommenders.fitted_catalog import FittedCatalog

logger = logging.getLogger(__name__)

VECTORS_FILE = "item_vectors.npz"
# Item-item cosine table kept for catalogs up to this many items (float64: 32 MiB at 2,048).
MAX_SIMILARITY_ITEMS = 2048


class EmbeddingConfig(RecommenderConfig):
    """encoder: hub name or local folder (the packaged MiniLM resolves offline).
    profile: "mean" weighs a user's items equally, "rating" by their interaction values.
    use_cache: reuse item embeddings from the on-disk EmbeddingCache."""

    encoder: str = DEFAULT_ENCODER
    profile: Literal["mean", "rating"] = "mean"
    use_cache: bool = True


class EmbeddingRecommender(Recommender):
    model_type = "embedding"
    takes_encoder = True
    config_class = EmbeddingConfig
    config: EmbeddingConfig
    serves_cold_items = True
    answers_text_queries = True

    def __init__(
        self, config: EmbeddingConfig | None = None, encoder: TextEncoder | None = None
    ) -> None:
        super().__init__(config)
        self._encoder = encoder
        self._items_frame: pd.DataFrame | None = None
        self._set_vectors(np.zeros((0, 0), dtype=np.float32))

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = shared_text_encoder(self.config.encoder)
        return self._encoder

    def fit(self, interactions: pd.DataFrame, items: pd.DataFrame | None = None) -> Self:
        self._items_frame = items  # _fit reads free-text descriptions from it
        try:
            return super().fit(interactions, items)
        finally:
            self._items_frame = None

    def _fit(self, catalog: FittedCatalog) -> None:
        texts = assemble_item_texts(self._items_frame, catalog.items.ids)
        present = [i for i, text in enumerate(texts) if text]
        if not present:
            raise ValueError(
                "embedding recommender needs item text: give an items frame with "
                "title, genres or text"
            )
        encoder = self.encoder
        source = EmbeddingCache(encoder) if self.config.use_cache else encoder
        encoded = source.encode([texts[i] for i in present])
        vectors = np.zeros((len(texts), encoded.shape[1]), dtype=np.float32)
        vectors[present] = encoded
        logger.info(
            "embedded %d item texts (%d items have none)", len(present), len(texts) - len(present)
        )
        self._set_vectors(vectors)

    def _profile_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """Cosine of every item to each row's profile (the weighted sum of its item vectors).

        Scoring against every item vector reads the whole vector table per request, which
        dominates a feed's cost. A row with fewer items than the vectors have dimensions is
        scored from the item-item table instead (its items' rows of it), when the catalog is
        small enough to keep one. The choice depends on the row alone, so a user scores the
        same alone or in a batch.
        """
        weights = sp.csr_matrix(rows, dtype=np.float64, copy=True)
        if self.config.profile == "mean":
            weights.data[:] = 1.0
        vectors = self._vectors64
        short = np.diff(weights.indptr) < vectors.shape[1]
        similarity = self._similarity() if short.any() else None
        if similarity is None:
            short[:] = False
        scores = np.empty((weights.shape[0], vectors.shape[0]))
        if not short.all():
            profiles = np.asarray(weights[~short] @ vectors)
            norms = np.linalg.norm(profiles, axis=1, keepdims=True)
            profiles /= np.where(norms > 0, norms, 1.0)
            scores[~short] = profiles @ vectors.T
        if similarity is not None:
            few = weights[short]
            raw = np.asarray(few @ similarity)  # profile · each item, before normalising
            row_of = np.repeat(np.arange(few.shape[0]), np.diff(few.indptr))
            squared = np.bincount(  # |profile|² = Σ_i w_i (profile · item i)
                row_of, weights=few.data * raw[row_of, few.indices], minlength=few.shape[0]
            )
            norms = np.sqrt(np.maximum(squared, 0.0))[:, None]
            scores[short] = raw / np.where(norms > 0, norms, 1.0)
        return scores

    def _similarity(self) -> np.ndarray | None:
        """Item-item dot products (float64); None for large catalogs."""
        return self._item_similarity

    def _set_vectors(self, vectors: np.ndarray) -> None:
        """Install item vectors, their float64 copy and (small catalogs) the item-item table,
        once at fit or load rather than on a request (serving scores one user per request)."""
        self.item_vectors = vectors
        self._vectors64 = vectors.astype(np.float64)
        small = 0 < len(self._vectors64) <= MAX_SIMILARITY_ITEMS
        self._item_similarity = self._vectors64 @ self._vectors64.T if small else None

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self._profile_scores(self.catalog.history_rows(user_indices))

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        return self._profile_scores(rows)

    def score_similar(self, item_index: int) -> np.ndarray:
        return self.item_vectors @ self.item_vectors[item_index]

    def score_text(self, query: str) -> np.ndarray:
        """Cosine of every item to the embedded query."""
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        self.require_fitted()  # before loading the encoder
        vector = self.encoder.encode([query.strip()])[0]
        if vector.shape[0] != self.item_vectors.shape[1]:
            raise ValueError(
                f"encoder '{self.encoder.name}' gives {vector.shape[0]}-d vectors but the item "
                f"vectors are {self.item_vectors.shape[1]}-d"
            )
        return self.item_vectors @ vector

    def _save_weights(self, folder: Path) -> None:
        save_arrays(folder / VECTORS_FILE, item_vectors=self.item_vectors)

    def _load_weights(self, folder: Path) -> None:
        self._set_vectors(load_arrays(folder / VECTORS_FILE)["item_vectors"].astype(np.float32))
