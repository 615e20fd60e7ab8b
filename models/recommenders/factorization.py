"""Matrix factorisation with implicit: ALS (Hu et al. 2008) and BPR (Rendle et al. 2009).

Models are fitted with implicit's CPU classes, or its GPU classes when implicit was built with
CUDA, and are always kept and saved as plain CPU factor arrays (.npz). Scores are dot products of
user and item factors; a user the model has never seen is folded in against the fixed item
factors (ALS: implicit's `recalculate_user`; BPR: the same weighted least squares, with BPR's item
bias column held fixed).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.artifacts import load_arrays, save_arrays
from models.recommenders.base import Recommender
from models.recommenders.contract import WeightedConfig
from models.recommenders.fitted_catalog import FittedCatalog
from models.recommenders.norm_index import NormIndexConfig, NormOrderedItems

logger = logging.getLogger(__name__)

FACTORS_FILE = "factors.npz"


class ALSConfig(WeightedConfig):
    """Implicit ALS. Defaults were chosen on a validation split carved from MovieLens-100K's
    training part (never the test set)."""

    factors: int = Field(default=32, gt=0)
    regularization: float = Field(default=10.0, ge=0.0)
    iterations: int = Field(default=15, gt=0)
    random_seed: int = 42
    num_threads: int = Field(default=0, ge=0)
    use_gpu: bool = True  # only honoured when implicit.gpu.HAS_CUDA
    norm_index: NormIndexConfig = NormIndexConfig()  # pruned top-k for large catalogs


class BPRConfig(WeightedConfig):
    """Implicit BPR. `fold_in_regularization` is the ridge term used to place unseen users.

    Defaults were chosen on a MovieLens-100K validation split: BPR overfits there past ~50
    epochs. With num_threads != 1 implicit's SGD is lock-free, so fits are not bit-reproducible.
    """

    factors: int = Field(default=128, gt=0)
    learning_rate: float = Field(default=0.01, gt=0.0)
    regularization: float = Field(default=0.01, ge=0.0)
    iterations: int = Field(default=40, gt=0)
    verify_negative_samples: bool = True
    random_seed: int = 42
    num_threads: int = Field(default=0, ge=0)
    use_gpu: bool = True
    fold_in_regularization: float = Field(default=1.0, gt=0.0)
    norm_index: NormIndexConfig = NormIndexConfig()


def _gpu_available(wanted: bool) -> bool:
    if not wanted:
        return False
    import implicit.gpu

    # implicit's GPU ALS also needs RMM; without both, the CPU classes are used.
    return bool(implicit.gpu.HAS_CUDA and implicit.gpu.HAS_RMM)


class _FactorModel(Recommender):
    """Shared scoring and storage of user/item factor matrices."""

    config: ALSConfig | BPRConfig

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.fitted_on: str | None = None  # "cpu" or "gpu" once fitted here (not saved)
        self.weighting = self.config.make_weighting()
        self._set_factors(np.zeros((0, 0)), np.zeros((0, 0)))

    # Scores are computed in float64 so that a user scored alone or inside a batch gets the
    # same ranking (float32 GEMM vs GEMV rounding differs in the last bits).
    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_factors[user_indices].astype(np.float64) @ self._items64.T

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        return self.fold_in_users(rows).astype(np.float64) @ self._items64.T

    def fold_in_users(self, rows: sp.csr_matrix) -> np.ndarray:
        """User factors for history rows (raw values), the item factors held fixed."""
        self.require_fitted()
        return self._fold_in(self.weighting.transform(rows))

    def score_similar(self, item_index: int) -> np.ndarray:
        return self._unit_items @ self._unit_items[item_index]

    def user_queries(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_factors[user_indices]

    def history_queries(self, rows: sp.csr_matrix) -> np.ndarray:
        return self.fold_in_users(rows)

    def exact_scores(self, query: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
        if candidates is None:
            return self._items64 @ query
        # float32 -> float64 is exact: the same values as rows of `_items64`
        return self.item_factors[candidates].astype(np.float64) @ query

    # Derived tables are built on first use: a large catalog served from its norm index never
    # needs the float64 copy (8 bytes per factor) nor the unit vectors unless a request falls
    # back to full scoring or asks for similar items.
    @property
    def _items64(self) -> np.ndarray:
        if self._items64_table is None:
            self._items64_table = self.item_factors.astype(np.float64)
        return self._items64_table

    @property
    def _unit_items(self) -> np.ndarray:
        if self._unit_table is None:
            norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
            self._unit_table = self.item_factors / np.where(norms > 0, norms, 1.0)
        return self._unit_table

    def _order_items(self, recommendable: np.ndarray, graph: object | None = None) -> None:
        """Sort the recommendable items by norm when there are enough of them (norm_index);
        `graph`: the one saved with the model (else it is built)."""
        config = self.config.norm_index
        usable = np.flatnonzero(recommendable)
        self.norm_index = None
        if config.min_items and len(usable) >= config.min_items:
            self.norm_index = NormOrderedItems(self.item_factors, usable, config, graph)

    def _set_factors(self, user_factors: np.ndarray, item_factors: np.ndarray) -> None:
        """Install the factors and everything derived from the item factors alone, once:
        serving requests then only do per-user work."""
        self.user_factors = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        self._items64_table: np.ndarray | None = None
        self._unit_table: np.ndarray | None = None
        self._prepare_fold_in()

    def _prepare_fold_in(self) -> None:
        """Precompute what `_fold_in` needs from the item factors (subclasses)."""

    def _fold_in(self, weighted_rows: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    def _fit_factors(self, catalog: FittedCatalog, make_cpu: Any, make_gpu: Any) -> None:
        inputs = self.weighting.fit_transform(catalog.history)
        on_gpu = _gpu_available(self.config.use_gpu)
        # `use_gpu` is a wish; where the fit actually ran is recorded (and logged by training).
        self.fitted_on = "gpu" if on_gpu else "cpu"
        logger.info("fitting %s on the %s", type(self).__name__, self.fitted_on.upper())
        model = make_gpu() if on_gpu else make_cpu()
        model.fit(inputs, show_progress=False)
        if hasattr(model, "to_cpu") and not isinstance(model.item_factors, np.ndarray):
            model = model.to_cpu()
        self._set_factors(model.user_factors, model.item_factors)
        self._order_items(catalog.has_interactions)

    def _save_weights(self, folder: Path) -> None:
        save_arrays(
            folder / FACTORS_FILE,
            user_factors=self.user_factors,
            item_factors=self.item_factors,
            **self.weighting.state(),
        )
        if self.norm_index is not None:
            self.norm_index.save_graph(folder)

    def _load_weights(self, folder: Path) -> None:
        arrays = load_arrays(folder / FACTORS_FILE)
        self.weighting.load_state(arrays)
        self._set_factors(arrays["user_factors"], arrays["item_factors"])
        graph = NormOrderedItems.load_graph(
            folder, self.item_factors.shape[1], self.config.norm_index
        )
        self._order_items(self.catalog.has_interactions, graph)  # the catalog is read first


class ALSRecommender(_FactorModel):
    model_type = "als"
    config_class = ALSConfig
    config: ALSConfig

    def _params(self) -> dict[str, Any]:
        """Hyper-parameters both of implicit's classes take (threads: CPU only)."""
        config = self.config
        return {
            "factors": config.factors,
            "regularization": config.regularization,
            "alpha": 1.0,
            "iterations": config.iterations,
            "random_state": config.random_seed,
        }

    def _cpu_model(self, num_threads: int | None = None) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        threads = self.config.num_threads if num_threads is None else num_threads
        return AlternatingLeastSquares(**self._params(), num_threads=threads)

    def _fit(self, catalog: FittedCatalog) -> None:
        def make_gpu() -> Any:
            from implicit.gpu.als import AlternatingLeastSquares

            return AlternatingLeastSquares(**self._params())

        self._fit_factors(catalog, self._cpu_model, make_gpu)

    def _prepare_fold_in(self) -> None:
        self._fold_model: Any = None  # built on the first fold-in (it caches YtY itself)

    def _fold_in(self, weighted_rows: sp.csr_matrix) -> np.ndarray:
        # One CPU model wrapping the current factors.
        model = self._fold_model
        if model is None:
            # One thread: a fold-in solves a handful of users, and a thread pool spread over
            # busy cores made a single serving request wait ~8x longer for time slices.
            model = self._cpu_model(num_threads=1)
            model.user_factors = self.user_factors[:1]
            model.item_factors = self.item_factors
            self._fold_model = model
        ids = np.arange(weighted_rows.shape[0])
        return np.atleast_2d(model.recalculate_user(ids, sp.csr_matrix(weighted_rows)))


class BPRRecommender(_FactorModel):
    """BPR's factors carry a bias column: users hold 1 there, items their bias."""

    model_type = "bpr"
    config_class = BPRConfig
    config: BPRConfig

    def _fit(self, catalog: FittedCatalog) -> None:
        config = self.config
        # The CPU and GPU classes take the same hyper-parameters; only the CPU one has threads.
        params = {
            "factors": config.factors,
            "learning_rate": config.learning_rate,
            "regularization": config.regularization,
            "iterations": config.iterations,
            "verify_negative_samples": config.verify_negative_samples,
            "random_state": config.random_seed,
        }

        def make_cpu() -> Any:
            from implicit.cpu.bpr import BayesianPersonalizedRanking

            return BayesianPersonalizedRanking(**params, num_threads=config.num_threads)

        def make_gpu() -> Any:
            from implicit.gpu.bpr import BayesianPersonalizedRanking

            return BayesianPersonalizedRanking(**params)

        self._fit_factors(catalog, make_cpu, make_gpu)

    def _prepare_fold_in(self) -> None:
        # The item-only terms of every fold-in's normal equations (the request adds the rest).
        factors = self.item_factors if self.item_factors.shape[1] else np.zeros((0, 1))  # unfitted
        vectors, bias = factors[:, :-1].astype(np.float64), factors[:, -1]
        self._fold_terms = (vectors, bias, vectors.T @ vectors, -(vectors.T @ bias))

    def _fold_in(self, weighted_rows: sp.csr_matrix) -> np.ndarray:
        """Weighted least squares: u·v_i + bias_i ≈ 1 on described items, ≈ 0 elsewhere.

        Confidence is 1 for unobserved items and the weighted value on described ones, the
        implicit-ALS objective, solved in closed form for each row with item factors fixed.
        """
        vectors, bias, gram, base_rhs = self._fold_terms
        ridge = self.config.fold_in_regularization * np.eye(vectors.shape[1])
        out = np.zeros((weighted_rows.shape[0], self.item_factors.shape[1]), dtype=np.float32)
        for row in range(weighted_rows.shape[0]):
            start, end = weighted_rows.indptr[row], weighted_rows.indptr[row + 1]
            cols = weighted_rows.indices[start:end]
            confidence = np.maximum(weighted_rows.data[start:end].astype(np.float64), 1.0)
            described = vectors[cols]
            lhs = gram + (described.T * (confidence - 1.0)) @ described + ridge
            # Σ_i c_i v_i (p_i - bias_i), with c_i = 1 and p_i = 0 off the described items
            rhs = base_rhs + described.T @ (confidence * (1.0 - bias[cols]) + bias[cols])
            out[row, :-1] = np.linalg.solve(lhs, rhs)
            out[row, -1] = 1.0
        return out
