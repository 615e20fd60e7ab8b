"""Plain pipeline steps shared by `agora train recommender` and `agora benchmark recommender`.

Each step takes typed inputs and returns values; none touches MLflow (see `tracking`).
"""

from __future__ import annotations

import hashlib
import logging
import resource
import sys
import time
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from data.loaders import available_kinds, load_interactions, load_items
from data.schemas import ITEM_ID, USER_ID, Kind, conform
from features.splits import stratified_split
from models.recommenders import create_recommender, recommender_config
from training.recommender.config import SplitConfig

logger = logging.getLogger(__name__)

SPLIT_METHOD = "per-user stratified random"


@dataclass(frozen=True)
class SplitData:
    """A dataset split for one protocol: training and held-out interactions plus item metadata."""

    dataset: str
    train: pd.DataFrame
    test: pd.DataFrame
    items: pd.DataFrame | None
    split: SplitConfig
    extra_rows: int = 0  # interactions added to training beyond the dataset (stored events)
    extra_sha256: str | None = None

    def lineage(self) -> dict[str, Any]:
        """How the data was split, for `training.tracking.log_lineage`."""
        return {
            "method": SPLIT_METHOD,
            "train_ratio": self.split.train_ratio,
            "seed": self.split.seed,
            "train_rows": len(self.train),
            "test_rows": len(self.test),
            "extra_train_rows": self.extra_rows,
            "extra_train_sha256": self.extra_sha256 or "none",
        }

    def with_extra_train(self, extra: pd.DataFrame) -> SplitData:
        """This split with `extra` interactions added to training (the test split unchanged).

        Columns beyond the dataset's are kept (e.g. `event_seq`, which the fitted model records
        so a feed folds in only the events it was not trained on).
        """
        extra = conform(extra, Kind.INTERACTIONS)
        digest = hashlib.sha256(extra.to_csv(index=False).encode()).hexdigest()
        train = pd.concat([self.train, extra], ignore_index=True)
        return replace(self, train=train, extra_rows=len(extra), extra_sha256=digest)

    def fingerprint(self) -> str:
        """sha256 of the sorted test pairs: equal only for the same held-out data."""
        return pairs_fingerprint(self.dataset, self.test)


def pairs_fingerprint(dataset: str, frame: pd.DataFrame) -> str:
    pairs = frame[[USER_ID, ITEM_ID]].astype(str).sort_values([USER_ID, ITEM_ID])
    digest = hashlib.sha256(dataset.encode())
    digest.update(pairs.to_csv(index=False).encode())
    return digest.hexdigest()


def load_dataset(dataset: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The dataset's interactions and, when it has them, its items."""
    interactions = load_interactions(dataset)
    items = load_items(dataset) if Kind.ITEMS in available_kinds(dataset) else None
    logger.info(
        "%s: %d interactions, %d users, %d items",
        dataset,
        len(interactions),
        interactions[USER_ID].nunique(),
        interactions[ITEM_ID].nunique(),
    )
    return interactions, items


def prepare_split(dataset: str, split: SplitConfig) -> SplitData:
    """Load `dataset` and split it by `split` (the test protocol)."""
    interactions, items = load_dataset(dataset)
    train, test = stratified_split(interactions, ratio=split.train_ratio, seed=split.seed)
    return SplitData(dataset=dataset, train=train, test=test, items=items, split=split)


def fit_recommender(
    name: str, params: dict[str, Any], train: pd.DataFrame, items: pd.DataFrame | None
) -> tuple[Any, float]:
    """Build and fit model `name` on `train`; return it with the fit's wall-clock seconds."""
    model = create_recommender(name, recommender_config(name, params))
    started = time.perf_counter()
    model.fit(train, items)
    seconds = time.perf_counter() - started
    logger.info("fitted %s on %d interactions in %.1f s", name, len(train), seconds)
    return model, seconds


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux counts ru_maxrss in KiB,
    macOS in bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
