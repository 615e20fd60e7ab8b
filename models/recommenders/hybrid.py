"""Hybrid: fuse collaborative models with the content model, and route cold starts.

Routing (the strategy is reported with every answer of the `*_with_strategy` methods):
- "personalized": the user is known, or the describing items have interactions → fuse every
  component (reciprocal-rank fusion, or a weighted sum of per-user z-scored scores).
- "cold-start-content": only content can help → items nobody interacted with, or a text query,
  go to the content (embedding) component.
- "popular-fallback": nothing is known (unknown user, no usable item) → most popular items.
Unlike single models, the hybrid never raises UnknownUserError: an unknown user is the
documented popular-fallback path. Unknown ids describing a new user are ignored (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field, field_validator

from features.embeddings import TextEncoder
from features.interactions import single_row
from models.config import ConfigError, FrozenConfig
from models.recommenders.base import Recommender, check_ids, check_k
from models.recommenders.contract import (
    ItemFilter,
    Recommendation,
    RecommenderConfig,
    Strategy,
)
from models.recommenders.feed import popular_items
from models.recommenders.training_data import TrainingData

logger = logging.getLogger(__name__)


class HybridComponent(FrozenConfig):
    """One fused model: its type, its weight in the fusion and its own config mapping.

    weight 0 keeps a component out of the fusion: a content model with weight 0 only serves
    cold starts (items without interactions, text queries)."""

    type: str
    weight: float = Field(default=1.0, ge=0.0)
    config: dict[str, Any] = Field(default_factory=dict)


class HybridConfig(RecommenderConfig):
    """fusion: "rrf" sums weight / (rrf_k + rank); "score" sums weight · per-user z-score."""

    # On a MovieLens-100K validation split every positive content weight lowered NDCG@10, so
    # by default the content model only serves cold starts.
    components: tuple[HybridComponent, ...] = (
        HybridComponent(type="ease"),
        HybridComponent(type="embedding", weight=0.0),
    )
    fusion: Literal["rrf", "score"] = "rrf"
    rrf_k: float = Field(default=60.0, gt=0.0)

    @field_validator("components")
    @classmethod
    def _check_components(
        cls, components: tuple[HybridComponent, ...]
    ) -> tuple[HybridComponent, ...]:
        from models.recommenders.registry import recommender_class

        if not components:
            raise ValueError("at least one component is needed")
        for position, component in enumerate(components):
            if component.type == "hybrid":
                raise ValueError(f"component {position}: a hybrid cannot contain a hybrid")
            try:
                recommender_class(component.type).config_class.from_mapping(component.config)
            except (ValueError, ConfigError) as error:
                raise ValueError(f"component {position} ({component.type}): {error}") from None
        if not any(component.weight > 0 for component in components):
            raise ValueError("at least one component needs a weight > 0")
        if sum(component.type == "embedding" for component in components) > 1:
            raise ValueError("at most one embedding (content) component")
        return components


class HybridRecommender(Recommender):
    model_type = "hybrid"
    takes_encoder = True
    config_class = HybridConfig
    config: HybridConfig

    def __init__(
        self, config: HybridConfig | None = None, encoder: TextEncoder | None = None
    ) -> None:
        from models.recommenders.registry import create_recommender

        super().__init__(config)
        self._encoder = encoder
        self.components: list[Recommender] = [
            create_recommender(spec.type, spec.config, encoder=encoder)
            for spec in self.config.components
        ]
        self.fusion_weights = [spec.weight for spec in self.config.components]
        self.serves_cold_items = any(c.serves_cold_items for c in self.components)  # type: ignore[misc]

    @property
    def content(self) -> Recommender | None:
        """The content component (serves items without interactions), if any."""
        return next((c for c in self.components if c.serves_cold_items), None)

    # ----- fitting and storage ------------------------------------------------------------------

    def fit(self, interactions: pd.DataFrame, items: pd.DataFrame | None = None) -> Self:
        for component in self.components:
            component.fit(interactions, items)
        return super().fit(interactions, items)

    def _fit(self, data: TrainingData) -> None:
        for component in self.components:
            if component.data.items != data.items or component.data.users != data.users:
                raise ValueError(f"component {component.model_type} was fitted on other ids")

    def _save_weights(self, folder: Path) -> None:
        for position, component in enumerate(self.components):
            sub = folder / f"component-{position}"
            sub.mkdir()
            component._write(sub)

    def _load_weights(self, folder: Path) -> None:
        from models.recommenders.registry import load_recommender

        self.components = [
            load_recommender(folder / f"component-{position}", encoder=self._encoder)
            for position in range(len(self.config.components))
        ]

    # ----- fused scoring hooks --------------------------------------------------------------------

    @property
    def _active(self) -> list[tuple[Recommender, float]]:
        """Components that take part in fusion (weight > 0)."""
        return [(c, w) for c, w in zip(self.components, self.fusion_weights, strict=True) if w > 0]

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        parts = [(c, w, c.score_users(user_indices)) for c, w in self._active]
        return self._fuse(parts, self.data.history[user_indices])

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        parts = []
        for component, weight in self._active:
            usable = rows
            if not component.serves_cold_items:  # CF models learn nothing from cold items
                usable = rows.multiply(component._signal_mask()[None, :]).tocsr()
            parts.append((component, weight, component.score_history(usable)))
        return self._fuse(parts, rows)

    def score_similar(self, item_index: int) -> np.ndarray:
        item_id = self.data.items.id_of(item_index)
        usable = [(c, w) for c, w in self._active if c.known_item(item_id)]
        if not usable:  # e.g. a cold item only the (weight 0) content component knows
            usable = [(c, 1.0) for c in self.components if c.known_item(item_id)]
        seen = single_row(np.array([item_index]), np.ones(1), self.data.n_items)
        parts = [(c, w, c.score_similar(item_index).reshape(1, -1)) for c, w in usable]
        return self._fuse(parts, seen)[0]

    def _fuse(
        self, parts: list[tuple[Recommender, float, np.ndarray]], seen: sp.csr_matrix
    ) -> np.ndarray:
        """Weighted fusion; seen items rank after unseen ones, cold items count only for content."""
        seen_mask = np.zeros((seen.shape[0], self.data.n_items), dtype=bool)
        rows, cols = seen.nonzero()
        seen_mask[rows, cols] = True
        total = np.zeros(seen_mask.shape)
        for component, weight, raw in parts:
            scores = np.array(raw, dtype=np.float64)
            usable = np.isfinite(scores)
            if not component.serves_cold_items:
                usable &= component._signal_mask()[None, :]
            if self.config.fusion == "rrf":
                total += weight * _reciprocal_ranks(scores, usable, seen_mask, self.config.rrf_k)
            else:
                total += weight * _z_scores(scores, usable, usable & ~seen_mask)
        if not self.serves_cold_items:
            total[:, ~self._signal_mask()] = -np.inf
        return total

    # ----- routing ------------------------------------------------------------------------------

    def recommend_batch(
        self,
        user_ids: Sequence[str],
        k: int = 10,
        exclude_seen: bool = True,
        filters: ItemFilter | None = None,
    ) -> dict[str, list[Recommendation]]:
        """Fused top-k for known users; popular items for users unknown to the model."""
        k = check_k(k)
        check_ids(user_ids, "user_ids")
        known = [user_id for user_id in user_ids if self.known_user(user_id)]
        result = super().recommend_batch(known, k, exclude_seen, filters) if known else {}
        missing = [user_id for user_id in user_ids if user_id not in result]
        if missing:
            popular = self._popular(k, filters)
            result.update({user_id: list(popular) for user_id in missing})
        return {user_id: result[user_id] for user_id in user_ids}

    def recommend_with_strategy(
        self,
        user_id: str,
        k: int = 10,
        exclude_seen: bool = True,
        filters: ItemFilter | None = None,
    ) -> tuple[list[Recommendation], Strategy]:
        strategy: Strategy = "personalized" if self.known_user(user_id) else "popular-fallback"
        return self.recommend_batch([user_id], k, exclude_seen, filters)[user_id], strategy

    def recommend_for_items(
        self,
        item_ids: Sequence[str],
        k: int = 10,
        exclude_seen: bool = True,
        filters: ItemFilter | None = None,
        weights: Sequence[float] | None = None,
    ) -> list[Recommendation]:
        return self.recommend_for_items_with_strategy(item_ids, k, exclude_seen, filters, weights)[
            0
        ]

    def recommend_for_items_with_strategy(
        self,
        item_ids: Sequence[str],
        k: int = 10,
        exclude_seen: bool = True,
        filters: ItemFilter | None = None,
        weights: Sequence[float] | None = None,
    ) -> tuple[list[Recommendation], Strategy]:
        """Route a user described by items: CF signal → fused, content only → content,
        nothing usable → popular."""
        k = check_k(k)
        check_ids(item_ids, "item_ids")
        if weights is not None and len(weights) != len(item_ids):
            raise ValueError(f"weights has {len(weights)} values for {len(item_ids)} items")
        usable = [
            (pos, item_id) for pos, item_id in enumerate(item_ids) if self.known_item(item_id)
        ]
        ignored = [item_id for item_id in item_ids if not self.known_item(item_id)]
        if ignored:
            logger.info("hybrid ignores %d unknown item ids, e.g. '%s'", len(ignored), ignored[0])
        if not usable:
            return self._popular(k, filters), "popular-fallback"
        kept_ids = [item_id for _, item_id in usable]
        kept_weights = None if weights is None else [weights[pos] for pos, _ in usable]
        row = self._history_row(kept_ids, kept_weights)
        allowed = self.data.allowed_items(filters)
        signal = self._signal_mask()
        if signal[row.indices].any():
            scores = self.score_history(row)
            strategy: Strategy = "personalized"
        else:
            content = self.content
            assert content is not None  # cold items are only usable with a content component
            scores = content.score_history(row)
            strategy = "cold-start-content"
        return self._select(scores, k, row if exclude_seen else None, allowed)[0], strategy

    def recommend_for_text(
        self, query: str, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        return self.recommend_for_text_with_strategy(query, k, filters)[0]

    def recommend_for_text_with_strategy(
        self, query: str, k: int = 10, filters: ItemFilter | None = None
    ) -> tuple[list[Recommendation], Strategy]:
        """A free-text query is answered by the content component alone."""
        content = self.content
        if content is None:
            raise ValueError("this hybrid has no content (embedding) component to answer text")
        return content.recommend_for_text(query, k, filters), "cold-start-content"  # type: ignore[attr-defined]

    def _popular(self, k: int, filters: ItemFilter | None) -> list[Recommendation]:
        return popular_items(self, k, filters)


def _reciprocal_ranks(
    scores: np.ndarray, usable: np.ndarray, seen: np.ndarray, rrf_k: float
) -> np.ndarray:
    """1 / (rrf_k + rank) per item (rank 1 = best unseen usable item); 0 for unusable items."""
    keyed = np.where(usable, scores, -np.inf)
    # unseen items first, then by score; ties keep item order (stable)
    order = np.lexsort((-keyed, seen), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :], axis=1)
    return np.where(usable, 1.0 / (rrf_k + ranks), 0.0)


def _z_scores(scores: np.ndarray, usable: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-row z-scores with the mean/std of the `reference` items (usable and unseen).

    Items the model cannot score get the row's lowest z, so that model neither helps nor
    hides them much.
    """
    counts = reference.sum(axis=1, keepdims=True)
    safe_counts = np.maximum(counts, 1)
    values = np.where(reference, scores, 0.0)
    mean = values.sum(axis=1, keepdims=True) / safe_counts
    spread = np.where(reference, (scores - mean) ** 2, 0.0).sum(axis=1, keepdims=True)
    std = np.sqrt(spread / safe_counts)
    std = np.where(std > 0, std, 1.0)
    z = np.where(usable, (np.where(usable, scores, 0.0) - mean) / std, np.inf)
    floor = z.min(axis=1, keepdims=True)
    floor = np.where(np.isfinite(floor), floor, 0.0)
    return np.where(usable, z, floor)
