"""Hybrid: fuse collaborative models with the content model, by reciprocal ranks or z-scores.

The hybrid is pure fusion and honours the recommender contract like every model (an unknown
user raises UnknownUserError, an unknown item UnknownItemError); which path serves a feed
(personalized, cold start, popular fallback) is decided by `feed_router`, not here.

Per row, a component takes part only when the row holds an item it can use: a collaborative
model given only items nobody interacted with has nothing to say, and its scores of an empty
history would add rank noise. A row that no weighted component can use falls back to every
component that can, at weight 1: items only the content model knows are served by it alone,
even when its fusion weight is 0 (a cold-start-only content component).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field, field_validator

from features.embeddings import TextEncoder
from features.interactions import single_row
from models.artifacts import current_type_name
from models.config import ConfigError, FrozenConfig
from models.errors import CatalogTooLargeError, NoItemTextError
from models.recommenders.base import Recommender
from models.recommenders.contract import ItemFilter, Recommendation, RecommenderConfig
from models.recommenders.fitted_catalog import FittedCatalog

logger = logging.getLogger(__name__)


class HybridComponent(FrozenConfig):
    """One fused model: its type, its weight in the fusion and its own config mapping.

    weight 0 keeps a component out of the fusion: a content model with weight 0 only serves
    cold starts (items without interactions, text queries)."""

    type: str
    weight: float = Field(default=1.0, ge=0.0)
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type", mode="before")
    @classmethod
    def _current_name(cls, value: Any) -> Any:
        # Hybrids saved before the type rename name their components the old way.
        return current_type_name(value) if isinstance(value, str) else value


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
        from models.recommenders.model_types import recommender_class

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
        from models.recommenders.model_types import create_recommender

        super().__init__(config)
        self._encoder = encoder
        self.components: list[Recommender] = [
            create_recommender(spec.type, spec.config, encoder=encoder)
            for spec in self.config.components
        ]
        self.fusion_weights = np.array([spec.weight for spec in self.config.components])
        self.left_out: dict[str, str] = {}  # component type -> why the last fit left it out
        # Capabilities follow the components this hybrid was configured with.
        self.serves_cold_items = any(c.serves_cold_items for c in self.components)
        self.answers_text_queries = any(c.answers_text_queries for c in self.components)

    @property
    def content(self) -> Recommender | None:
        """The content component (serves items without interactions), if any."""
        return next((c for c in self.components if c.serves_cold_items), None)

    # ----- fitting and storage ------------------------------------------------------------------

    def fit(self, interactions: pd.DataFrame, items: pd.DataFrame | None = None) -> Self:
        """Fit every component; one that refuses the catalog's size (EASE above `max_items`)
        or has nothing to read (the content model, given items without text) is left out with
        a warning, and the hybrid fuses the components that can fit. Only when no weighted
        component is left does the fit fail."""
        kept: list[tuple[HybridComponent, Recommender]] = []
        self.left_out = {}
        for spec, component in zip(self.config.components, self.components, strict=True):
            try:
                component.fit(interactions, items)
            except (CatalogTooLargeError, NoItemTextError) as refusal:
                self.left_out[spec.type] = str(refusal)
                logger.warning("hybrid: %s left out of the fusion: %s", spec.type, refusal)
                continue
            kept.append((spec, component))
        if self.left_out:
            if not any(spec.weight > 0 for spec, _ in kept):
                raise CatalogTooLargeError(
                    "no weighted component of the hybrid can fit this catalog: "
                    + "; ".join(self.left_out.values())
                )
            self._keep(kept)
        return super().fit(interactions, items)

    def _keep(self, kept: list[tuple[HybridComponent, Recommender]]) -> None:
        """Serve (and save) only `kept`: the saved config lists exactly the fitted components."""
        specs = tuple(spec for spec, _ in kept)
        self.config = self.config.model_copy(update={"components": specs})
        self.components = [component for _, component in kept]
        self.fusion_weights = np.array([spec.weight for spec in specs])
        self.serves_cold_items = any(c.serves_cold_items for c in self.components)
        self.answers_text_queries = any(c.answers_text_queries for c in self.components)

    @classmethod
    def from_fitted(
        cls,
        config: HybridConfig,
        components: Sequence[Recommender],
        encoder: TextEncoder | None = None,
    ) -> Self:
        """A hybrid over components already fitted on the same data, without refitting them.

        Tuning tries many fusions (weights, rrf_k, fusion kind) of the same component fits;
        refitting every component per trial would spend the budget on identical fits.
        """
        hybrid = cls(config, encoder=encoder)
        expected = [spec.type for spec in config.components]
        given = [component.model_type for component in components]
        if given != expected:
            raise ValueError(f"components {given} do not match the config's {expected}")
        hybrid.components = list(components)
        catalog = components[0].catalog
        hybrid._fit(catalog)
        hybrid._set_catalog(catalog)
        return hybrid

    def _fit(self, catalog: FittedCatalog) -> None:
        for component in self.components:
            if component.catalog.items != catalog.items or component.catalog.users != catalog.users:
                raise ValueError(f"component {component.model_type} was fitted on other ids")

    def _save_weights(self, folder: Path) -> None:
        for position, component in enumerate(self.components):
            sub = folder / f"component-{position}"
            sub.mkdir()
            component.write_into(sub)

    def _load_weights(self, folder: Path) -> None:
        from models.recommenders.model_types import load_recommender

        self.components = [
            load_recommender(folder / f"component-{position}", encoder=self._encoder)
            for position in range(len(self.config.components))
        ]

    # ----- fused scoring hooks --------------------------------------------------------------------

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        rows = self.catalog.history_rows(user_indices)
        return self._fuse(rows, lambda component: component.score_users(user_indices))

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        def score(component: Recommender) -> np.ndarray:
            usable = rows
            if not component.serves_cold_items:  # CF models learn nothing from cold items
                usable = sp.csr_matrix(rows, copy=True)
                usable.data[~component.usable_items_mask()[usable.indices]] = 0
                usable.eliminate_zeros()
            return component.score_history(usable)

        return self._fuse(rows, score)

    def score_similar(self, item_index: int) -> np.ndarray:
        row = single_row(np.array([item_index]), np.ones(1), self.catalog.n_items)
        fused = self._fuse(row, lambda component: component.score_similar(item_index))
        return fused[0]

    def score_text(self, query: str) -> np.ndarray:
        """The content component's scores: only it can read a text query."""
        return self._text_component().score_text(query)

    def recommend_for_text(
        self, query: str, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        """The content component's answer: only it reads text, and on a large catalog it
        answers from its graph instead of scoring every item (same catalog as the hybrid's)."""
        return self._text_component().recommend_for_text(query, k, filters)

    # Content vectors are the content component's (items published after the fit join its space).
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._text_component().embed_texts(texts)

    def content_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        return self._text_component().content_vectors(item_ids)

    def text_vector(self, query: str) -> np.ndarray:
        return self._text_component().text_vector(query)

    def recommend_for_vector(
        self, vector: np.ndarray, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        return self._text_component().recommend_for_vector(vector, k, filters)

    def _text_component(self) -> Recommender:
        content = self.content
        if content is None or not content.answers_text_queries:
            raise ValueError("this hybrid has no content (embedding) component to answer text")
        return content

    def _participation(self, rows: sp.csr_matrix) -> np.ndarray:
        """(components, rows) fusion weights: a component's weight where the row holds an item
        it can use, 0 elsewhere; a row no weighted component can use falls back to weight 1
        for every component that can."""
        rows = sp.csr_matrix(rows)
        present = rows.data != 0
        row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))[present]
        columns = rows.indices[present]
        usable = np.zeros((len(self.components), rows.shape[0]))
        for position, component in enumerate(self.components):
            hits = row_of[component.usable_items_mask()[columns]]
            usable[position, hits] = 1.0
        weights = self.fusion_weights[:, None] * usable
        orphans = weights.sum(axis=0) == 0
        weights[:, orphans] = usable[:, orphans]
        return weights

    def _fuse(self, rows: sp.csr_matrix, score: Callable[[Recommender], np.ndarray]) -> np.ndarray:
        """Weighted fusion of the components' scores of `rows` (the histories, or the one item,
        the scores are about); items in a row rank after the others in its reciprocal ranks."""
        n_rows, n_items = rows.shape
        seen = np.zeros((n_rows, n_items), dtype=bool)
        stored = np.repeat(np.arange(n_rows), np.diff(rows.indptr))
        nonzero = rows.data != 0  # what `rows.nonzero()` gives, without its COO copy
        seen[stored[nonzero], rows.indices[nonzero]] = True
        total = np.zeros((n_rows, n_items))
        for component, weights in zip(self.components, self._participation(rows), strict=True):
            if not weights.any():
                continue
            # read-only below: no copy of what the component returns
            scores = np.asarray(score(component), dtype=np.float64).reshape(n_rows, n_items)
            usable = np.isfinite(scores) & component.usable_items_mask()[None, :]
            if self.config.fusion == "rrf":
                part = _reciprocal_ranks(scores, usable, seen, self.config.rrf_k)
            else:
                part = _z_scores(scores, usable, usable & ~seen)
            total += weights[:, None] * part
        if not self.serves_cold_items:
            total[:, ~self.usable_items_mask()] = -np.inf
        return total


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
