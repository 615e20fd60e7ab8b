"""The recommender contract and the machinery every model shares.

A model implements scoring hooks on matrix indices (`_fit`, `score_users`, `score_history`,
`score_similar`, and `score_text` when it answers text queries) plus saving its weights; this
base turns them into the public contract on string ids: seen-item exclusion, genre/id filters,
deterministic top-k, errors that name the id. Save and load are templated by
`models.artifacts.SavedModel` (one manifest dialect for every model family).

Capabilities are declared, never probed: `serves_cold_items` (items nobody interacted with can
be scored and returned) and `answers_text_queries` (`recommend_for_text` works).
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.interactions import single_row
from models.artifacts import SavedModel
from models.recommenders.contract import (
    ItemFilter,
    ItemInfo,
    Recommendation,
    RecommenderConfig,
    UnknownItemError,
    UnknownUserError,
)
from models.recommenders.fitted_catalog import FittedCatalog
from models.recommenders.kept_out_pairs import pair_rows
from models.recommenders.norm_index import NormOrderedItems
from models.recommenders.ranking import batch_rows, check_ids, check_k, top_k

# Up to this many users per call a model with norm-ordered items searches them per user (a feed
# request is one user); larger batches (offline evaluation) are scored in dense blocks. Both
# give the exact top-k.
PRUNED_MAX_BATCH = 64

logger = logging.getLogger(__name__)


class Recommender(SavedModel):
    """Base of every recommender: fit on canonical frames, recommend by string ids.

    Subclasses set `model_type` and `config_class` and implement the scoring hooks. Items without
    any training interaction are never returned unless `serves_cold_items` (content models).
    """

    family = "recommender"
    config_class: ClassVar[type[RecommenderConfig]]
    takes_encoder: ClassVar[bool] = False  # the constructor and `load` accept `encoder=`
    serves_cold_items: bool = False
    answers_text_queries: bool = False

    def __init__(self, config: RecommenderConfig | None = None) -> None:
        if config is None:
            config = self.config_class()
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        self.config = config
        self._catalog: FittedCatalog | None = None
        self._usable = np.zeros(0, dtype=bool)

    def __repr__(self) -> str:
        catalog = self._catalog
        state = f"{catalog.n_users} users × {catalog.n_items} items" if catalog else "unfitted"
        return f"{type(self).__name__}({state})"

    # ----- scoring hooks implemented by each model ---------------------------------------------

    @abstractmethod
    def _fit(self, catalog: FittedCatalog) -> None:
        """Learn weights from `catalog` (its history holds raw, deduplicated values)."""

    @abstractmethod
    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """Dense (len(user_indices), n_items) scores for known users."""

    @abstractmethod
    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        """Dense (n_rows, n_items) scores for users given only as history rows (raw values)."""

    @abstractmethod
    def score_similar(self, item_index: int) -> np.ndarray:
        """Scores of every item as a neighbour of `item_index`."""

    def score_text(self, query: str) -> np.ndarray:
        """Scores of every item for a free-text query (models with `answers_text_queries`)."""
        raise ValueError(f"{type(self).__name__} does not answer text queries")

    @abstractmethod
    def _save_weights(self, folder: Path) -> None: ...

    @abstractmethod
    def _load_weights(self, folder: Path) -> None: ...

    # ----- public contract ------------------------------------------------------------------------

    @property
    def is_fitted(self) -> bool:
        return self._catalog is not None

    @property
    def catalog(self) -> FittedCatalog:
        """Id maps, fitted history and item catalog; NotFittedError before fit or load."""
        self.require_fitted()
        assert self._catalog is not None
        return self._catalog

    def fit(self, interactions: pd.DataFrame, items: pd.DataFrame | None = None) -> Self:
        """Fit on a canonical interactions frame; `items` adds titles/genres (and catalog items)."""
        catalog = FittedCatalog.from_frames(interactions, items, duplicates=self.config.duplicates)
        started = time.perf_counter()
        self._fit(catalog)
        self._set_catalog(catalog)
        logger.info("fitted %s in %.2f s", type(self).__name__, time.perf_counter() - started)
        return self

    def known_user(self, user_id: str) -> bool:
        return user_id in self.catalog.users

    def known_item(self, item_id: str) -> bool:
        """True when the model can use the item (CF models: it had training interactions)."""
        index = self.catalog.items.get(item_id)
        return index is not None and bool(self.usable_items_mask()[index])

    def usable_items_mask(self) -> np.ndarray:
        """Boolean per catalog item (read-only): the model can score and return it."""
        self.require_fitted()
        return self._usable

    def describe_items(self, item_ids: Sequence[str]) -> list[ItemInfo]:
        """Title and genres of each item, from the catalog the model was fitted with."""
        check_ids(item_ids, "item_ids")
        return self.catalog.describe(item_ids)

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
        also_seen: bool = False,
    ) -> dict[str, list[Recommendation]]:
        """Top-k for many known users at once (scored in dense blocks).

        With `exclude_seen` and `also_seen` the catalog's pairs seen beyond the fitted history
        (non-positive ratings, pairs held out to evaluate the model) are left out too, as a
        served feed leaves them out (`feed_router.fitted_feeds`); without `also_seen` only the
        fitted history is, as the evaluation of the model on those held-out pairs needs. Without
        `exclude_seen` the pairs rated 0 or below (`FittedCatalog.kept_out`) are still left out,
        as a served feed leaves them out.
        """
        k = check_k(k)
        check_ids(user_ids, "user_ids")
        catalog = self.catalog
        indices = catalog.users.lookup(user_ids)
        for user_id, index in zip(user_ids, indices, strict=True):
            if index < 0:
                raise UnknownUserError(str(user_id))
        allowed = catalog.allowed_items(filters)
        result: dict[str, list[Recommendation]] = {}
        if self.norm_index is not None and len(indices) <= PRUNED_MAX_BATCH:
            queries = self.user_queries(indices)
            seen_rows = (
                catalog.seen_rows(indices, also_seen)
                if exclude_seen
                else pair_rows(catalog.kept_out, indices)
            )
            for row, user_id in enumerate(user_ids):
                seen = _row_items(seen_rows, row) if seen_rows is not None else None
                result[user_id] = self._select_pruned(queries[row], k, seen, allowed)
            return result
        step = batch_rows(catalog.n_items)
        for start in range(0, len(indices), step):
            block = indices[start : start + step]
            scores = self.score_users(block)
            seen = (
                catalog.seen_rows(block, also_seen)
                if exclude_seen
                else pair_rows(catalog.kept_out, block)
            )
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

        `weights` are interaction values (default: the fitted history's median value).
        With exclude_seen the given items are not returned.
        """
        k = check_k(k)
        row = self._history_row(item_ids, weights)
        allowed = self.catalog.allowed_items(filters)
        if self.norm_index is not None:
            seen = _row_items(row, 0) if exclude_seen else None
            return self._select_pruned(self.history_queries(row)[0], k, seen, allowed)
        scores = self.score_history(row)
        return self._select(scores, k, row if exclude_seen else None, allowed)[0]

    def recommend_for_text(
        self, query: str, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        """Items closest to a free-text query; ValueError unless `answers_text_queries`."""
        k = check_k(k)
        scores = np.asarray(self.score_text(query), dtype=np.float64).reshape(1, -1)
        return self._select(scores, k, None, self.catalog.allowed_items(filters))[0]

    # ----- content vectors (models that answer text queries) ------------------------------------

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of item texts (`features.item_text`) by the encoder the model's item
        vectors came from: items published after the fit join the same space."""
        raise ValueError(f"{type(self).__name__} has no content encoder")

    def content_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        """The content vectors of `item_ids` (a zero row for an item the model cannot embed)."""
        raise ValueError(f"{type(self).__name__} has no content vectors")

    def text_vector(self, query: str) -> np.ndarray:
        """The unit vector of a free-text query in the items' content space."""
        raise ValueError(f"{type(self).__name__} cannot read a text query")

    def recommend_for_vector(
        self, vector: np.ndarray, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        """The catalog items whose content is closest to `vector` (a profile of items the
        model does not know, such as items published after the fit)."""
        raise ValueError(f"{type(self).__name__} has no content vectors")

    def similar_items(
        self, item_id: str, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        """The k items most similar to `item_id` (never the item itself)."""
        k = check_k(k)
        index = self._usable_item(item_id)
        scores = np.asarray(self.score_similar(index), dtype=np.float64).reshape(1, -1).copy()
        scores[0, index] = -np.inf
        return self._select(scores, k, None, self.catalog.allowed_items(filters))[0]

    def popular_items(
        self, k: int = 10, filters: ItemFilter | None = None, exclude: Sequence[str] = ()
    ) -> list[Recommendation]:
        """The k items most users interacted with (allowed by `filters`, minus `exclude`);
        the score is the number of users. The same for every model fitted on the same data."""
        k = check_k(k)
        check_ids(exclude, "exclude")
        catalog = self.catalog
        allowed = catalog.allowed_items(filters)
        excluded = catalog.items.lookup(exclude)
        excluded = set(excluded[excluded >= 0].tolist())
        scores = catalog.popular_scores
        picked: list[int] = []
        # Walk the precomputed order (most popular first, ties by item index) a chunk at a time:
        # a request costs what it skips, not the catalog's size.
        order, start, chunk = catalog.popular_order, 0, 4 * k + len(excluded)
        while len(picked) < k and start < len(order):
            block = order[start : start + chunk]
            if allowed is not None:
                block = block[allowed[block]]
            picked += [int(i) for i in block if int(i) not in excluded][: k - len(picked)]
            start, chunk = start + chunk, chunk * 4
        return [Recommendation(catalog.items.id_of(i), float(scores[i])) for i in picked]

    # ----- storage (templated by SavedModel) ------------------------------------------------------

    def _write(self, folder: Path) -> dict[str, Any]:
        catalog = self.catalog
        catalog.save(folder)
        self._save_weights(folder)
        logger.info("wrote %s into %s", type(self).__name__, folder)
        return {
            "config": self.config.model_dump(mode="json"),
            "n_users": catalog.n_users,
            "n_items": catalog.n_items,
        }

    @classmethod
    def _read(cls, folder: Path, manifest: dict[str, Any], **init: Any) -> Self:
        model = cls(cls.config_class.from_mapping(manifest["config"]), **init)
        model._set_catalog(FittedCatalog.load(folder))
        model._load_weights(folder)
        return model

    # ----- shared internals -----------------------------------------------------------------------

    def _set_catalog(self, catalog: FittedCatalog) -> None:
        self._catalog = catalog
        usable = (
            np.ones(catalog.n_items, dtype=bool)
            if self.serves_cold_items
            else catalog.has_interactions
        )
        usable.setflags(write=False)  # shared with callers of usable_items_mask
        self._usable = usable

    # ----- pruned top-k (models whose scores are query . item vectors) ----------------------

    norm_index: NormOrderedItems | None = None  # set by a model with many items (factor models)

    def user_queries(self, user_indices: np.ndarray) -> np.ndarray:
        """Query vectors of fitted users (models with a norm index implement it)."""
        raise NotImplementedError

    def history_queries(self, rows: sp.csr_matrix) -> np.ndarray:
        """Query vectors of histories (models with a norm index implement it)."""
        raise NotImplementedError

    def exact_scores(self, query: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
        """float64 scores of `query` for the `candidates` (item indices; None: every item),
        as full scoring computes them (models with a norm index implement it)."""
        raise NotImplementedError

    def _select_pruned(
        self,
        query: np.ndarray,
        k: int,
        seen: np.ndarray | None,
        allowed: np.ndarray | None,
    ) -> list[Recommendation]:
        """The top-k of one query from the norm-ordered items (see norm_index), with the same
        scores and tie order as `_select` over the full score row (exact unless the scan was
        cut short and the graph added candidates)."""
        index = self.norm_index
        assert index is not None
        catalog = self.catalog
        query64 = np.asarray(query, dtype=np.float64)
        share = 1.0 if allowed is None else np.count_nonzero(allowed) / catalog.n_items
        if share < index.config.exact_below_share:
            # A narrow filter: scoring the admitted items is cheaper than walking the order.
            candidates = np.flatnonzero(allowed & self.usable_items_mask())
            if seen is not None and len(seen):
                candidates = candidates[~np.isin(candidates, seen)]
        else:
            candidates, _, exact = index.top_candidates(query64, k, allowed, seen, share)
            # Candidates from the graph are not masked yet (the scan's are).
            keep = self.usable_items_mask()[candidates]
            if allowed is not None:
                keep &= allowed[candidates]
            candidates = candidates[keep]
            if seen is not None and len(seen):
                candidates = candidates[~np.isin(candidates, seen)]
            if not exact and len(candidates) < k:
                # The masks left the graph's candidates short of k: score every item.
                scores = self.exact_scores(query64)[None, :]
                return self._select(scores, k, _as_row(seen, catalog.n_items), allowed)[0]
        scores = self.exact_scores(query64, candidates)
        finite = np.isfinite(scores)
        candidates, scores = candidates[finite], scores[finite]
        order = np.lexsort((candidates, -scores))[:k]  # ties by item order, as top_k does
        items = catalog.items
        return [Recommendation(items.id_of(int(candidates[i])), float(scores[i])) for i in order]

    def _usable_item(self, item_id: str) -> int:
        index = self.catalog.items.get(item_id)
        if index is None:
            raise UnknownItemError(item_id)
        if not self.usable_items_mask()[index]:
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
            values = np.full(len(indices), self.catalog.typical_value, dtype=np.float32)
        else:
            if len(weights) != len(item_ids):
                raise ValueError(f"weights has {len(weights)} values for {len(item_ids)} items")
            values = np.asarray(weights, dtype=np.float32)
            if not np.isfinite(values).all() or (values <= 0).any():
                raise ValueError("weights must be finite and > 0")
        return single_row(indices, values, self.catalog.n_items)

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
            scores[:, ~self.usable_items_mask()] = -np.inf
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        if seen is not None and seen.nnz:
            # the stored non-zeros, as `seen.nonzero()` gives them without its COO copy
            rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
            nonzero = seen.data != 0
            scores[rows[nonzero], seen.indices[nonzero]] = -np.inf
        items = self.catalog.items
        return [
            [Recommendation(items.id_of(int(i)), float(row[i])) for i in picked]
            for row, picked in zip(scores, top_k(scores, k), strict=True)
        ]


def _row_items(rows: sp.csr_matrix, row: int) -> np.ndarray:
    """Item indices stored non-zero in one row of a CSR matrix."""
    start, end = rows.indptr[row], rows.indptr[row + 1]
    return rows.indices[start:end][rows.data[start:end] != 0]


def _as_row(items: np.ndarray | None, n_items: int) -> sp.csr_matrix | None:
    """Item indices as a one-row matrix of ones (the seen-items shape `_select` takes)."""
    if items is None or not len(items):
        return None
    return sp.csr_matrix(
        (np.ones(len(items), dtype=np.float32), items, [0, len(items)]), shape=(1, n_items)
    )
