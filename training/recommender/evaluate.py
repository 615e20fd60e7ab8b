"""Score any fitted recommender on a train/test split: metrics, metric-vs-k, the lists themselves.

The harness asks the model for each test user's top-n list over the whole catalog with the
user's training items excluded (the model's own `exclude_seen`), then applies the ranking
metrics of `training.recommender.metrics`. Lists are requested once at the largest cut-off and
truncated for the smaller ones, which is exact for a deterministic ranking.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from data.id_categories import is_sorted_id_categorical
from data.schemas import ITEM_ID, RATING, USER_ID
from training.recommender.metrics import mean_confidence_interval, per_user_ndcg, ranking_metrics

if TYPE_CHECKING:
    from training.recommender.steps import SplitData

logger = logging.getLogger(__name__)

DEFAULT_KS = (1, 5, 10, 20, 50)
RANK = "rank"


class BatchRecommender(Protocol):
    """What the harness needs of a model: top-k lists for many users at once."""

    def recommend_batch(
        self, user_ids: Sequence[str], k: int = 10, exclude_seen: bool = True, filters: Any = None
    ) -> dict[str, list[Any]]: ...


@dataclass(frozen=True)
class Evaluation:
    """The outcome of scoring one model on one split."""

    k: int
    metrics: dict[str, float]
    metrics_by_k: dict[int, dict[str, float]]
    recommendations: dict[str, list[str]]
    item_popularity: dict[str, float] = field(repr=False)
    seconds: float = 0.0
    users_total: int = 0  # test users; more than were scored when the users were sampled
    ndcg_ci95: tuple[float, float] = (0.0, 0.0)  # of the mean NDCG@k over the scored users

    @property
    def sampled(self) -> bool:
        return len(self.recommendations) < self.users_total

    def top_k_lists(self) -> dict[str, list[str]]:
        """Each user's list cut at the evaluation k (what the metrics at k saw)."""
        return {user: items[: self.k] for user, items in self.recommendations.items()}


def positive_pairs(test: pd.DataFrame) -> pd.DataFrame:
    """The held-out rows of the (user, item) pairs with positive evidence (a row rated above 0).

    A pair rated 0 or below (a thumbs-down, an imported hide or report: `data.event_import`) is
    never fitted and the model keeps it as seen, so its feed never shows the item: counting it as
    relevant would reward recommending what the user rejected. A user left with no positive
    held-out pair is not evaluated.
    """
    if RATING not in test or bool((test[RATING] > 0).all()):
        return test
    best = test.groupby([USER_ID, ITEM_ID], sort=False, observed=True)[RATING].transform("max")
    kept = test[(best > 0).to_numpy()]
    logger.info(
        "evaluating %d of %d held-out rows: the rest are of pairs rated 0 or below (not relevant)",
        len(kept),
        len(test),
    )
    return kept


def relevant_items(test: pd.DataFrame) -> dict[str, set[str]]:
    """User id -> the set of the user's held-out item ids (every test row is relevant: pass
    `positive_pairs(test)`)."""
    grouped = test.groupby(USER_ID, sort=True)[ITEM_ID]
    return {str(user): set(items.astype(str)) for user, items in grouped}


def item_popularity(train: pd.DataFrame) -> dict[str, float]:
    """Catalog item id -> number of training interactions (the catalog is the training items)."""
    counts = train[ITEM_ID].value_counts(sort=False)
    # A categorical id column (`data.id_categories`) also counts its categories without rows.
    return {str(item): float(count) for item, count in counts.items() if count > 0}


def recommend_lists(
    model: BatchRecommender,
    user_ids: Iterable[str],
    n: int,
    known_users: Collection[str] | None = None,
    batch_size: int = 512,
    show_progress: bool = False,
    exclude: Mapping[str, AbstractSet[str]] | None = None,
) -> dict[str, list[str]]:
    """Top-n item ids per user, seen items excluded, and each user's `exclude` items too.

    Users outside `known_users` (no training rows: no model can personalise for them) and users
    the model omits get an empty list, which the metrics score as zero.
    """
    exclude = exclude or {}
    users = list(user_ids)
    lists: dict[str, list[str]] = {user: [] for user in users}
    if known_users is not None:
        users = [user for user in users if user in known_users]
    batches = range(0, len(users), batch_size)
    for start in tqdm(batches, desc="recommend", unit="batch", disable=not show_progress):
        chunk = users[start : start + batch_size]
        # Enough more items that n remain once a user's excluded ones are dropped.
        more = max((len(exclude.get(user, ())) for user in chunk), default=0)
        answers = model.recommend_batch(chunk, k=n + more, exclude_seen=True)
        for user in chunk:
            left_out = exclude.get(user, ())
            picks = [rec.item_id for rec in answers.get(user, []) if rec.item_id not in left_out]
            lists[user] = picks[:n]
    missing = sum(1 for items in lists.values() if not items)
    if missing:
        logger.warning("%d of %d users got an empty list (scored as zero)", missing, len(lists))
    return lists


def sample_test_users(test: pd.DataFrame, max_users: int, seed: int) -> tuple[pd.DataFrame, int]:
    """The test rows of a seeded uniform sample of `max_users` users, and the number of test
    users (all rows when there are no more users than that). Sampling before grouping keeps
    the cost that of the sample."""
    ids = test[USER_ID]
    # Distinct ids as text first (not every row): a sorted array the seeded choice draws from.
    users = np.sort(np.asarray(pd.unique(ids).astype(str), dtype=object))
    if len(users) <= max_users:
        return test, len(users)
    picked = np.random.default_rng(seed).choice(users, size=max_users, replace=False)
    text = ids if is_sorted_id_categorical(ids) else ids.astype(str)  # categories are text
    return test[text.isin(picked).to_numpy()], len(users)


def evaluate_recommender(
    model: BatchRecommender,
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    ks: Sequence[int] = DEFAULT_KS,
    show_progress: bool = False,
    max_users: int | None = None,
    seed: int = 0,
    also_seen: pd.DataFrame | None = None,
) -> Evaluation:
    """Metrics at k (accuracy, coverage, popularity bias) and at every cut-off in `ks`.

    `also_seen` (user, item pairs) is left out of the lists beyond the model's own fitted
    history: a champion compared with a candidate trained on more (stored events) is scored
    with the candidate's seen items left out as the candidate's are, so neither gains or loses
    hits by what it was told about (a held-out item the user also viewed, an item a feed showed).

    Past `max_users` test users, a seeded random sample of that many is scored: ranking every
    user of a large catalog costs far more than the fit, and a sample of tens of thousands pins
    the mean to a few thousandths, which `ndcg_ci95` (a 95 % interval) states. The interval is
    reported for full evaluations too (the spread over users), where it bounds nothing sampled.
    """
    check_cutoffs(k, ks)
    started = time.perf_counter()
    test, users_total = evaluation_users(positive_pairs(test), max_users, seed)
    relevant = relevant_items(test)
    cutoffs = sorted({k, *ks})
    # Distinct ids first: a set built from every training row iterated 15M ids at 20M rows.
    known = {str(user) for user in train[USER_ID].unique()}
    exclude = _items_by_user(also_seen) if also_seen is not None else None
    lists = recommend_lists(
        model, relevant, max(cutoffs), known, show_progress=show_progress, exclude=exclude
    )
    return score_lists(lists, relevant, item_popularity(train), k, ks, users_total, started)


def _items_by_user(pairs: pd.DataFrame) -> dict[str, set[str]]:
    """User id -> the set of the user's item ids in `pairs`."""
    grouped = pairs.groupby(USER_ID, sort=False, observed=True)[ITEM_ID]
    return {str(user): set(items.astype(str)) for user, items in grouped}


def check_cutoffs(k: int, ks: Sequence[int]) -> None:
    if k <= 0 or any(c <= 0 for c in ks):
        raise ValueError(f"cut-offs must be positive, got k={k} and ks={list(ks)}")


def evaluation_users(
    test: pd.DataFrame, max_users: int | None, seed: int
) -> tuple[pd.DataFrame, int]:
    """The test rows to score (all, or those of a seeded sample of `max_users` users) and the
    number of test users."""
    if max_users is not None and max_users <= 0:
        raise ValueError(f"max_users must be positive, got {max_users}")
    if max_users is None:
        return test, int(test[USER_ID].nunique())
    return sample_test_users(test, max_users, seed)


def score_lists(
    lists: dict[str, list[str]],
    relevant: dict[str, set[str]],
    popularity: dict[str, float],
    k: int,
    ks: Sequence[int],
    users_total: int,
    started: float,
) -> Evaluation:
    """The evaluation of top-n `lists` (n >= every cut-off; a user's empty list scores zero)
    against `relevant`, wherever the lists were computed (this process or a batch engine).
    `started` is the `time.perf_counter()` the evaluation's time counts from."""
    cutoffs = sorted({k, *ks})
    by_k = {c: ranking_metrics(lists, relevant, c, popularity=popularity) for c in cutoffs}
    interval = mean_confidence_interval(per_user_ndcg(lists, relevant, k))
    seconds = time.perf_counter() - started
    logger.info(
        "evaluated %d of %d users in %.1f s: ndcg@%d=%.4f (95 %% interval %.4f-%.4f)",
        len(relevant),
        users_total,
        seconds,
        k,
        by_k[k][f"ndcg@{k}"],
        *interval,
    )
    return Evaluation(
        k=k,
        metrics=by_k[k],
        metrics_by_k=by_k,
        recommendations=lists,
        item_popularity=popularity,
        seconds=seconds,
        users_total=users_total,
        ndcg_ci95=interval,
    )


def metrics_by_k_frame(evaluation: Evaluation) -> pd.DataFrame:
    """One row per cut-off, one column per metric name without its '@k' suffix."""
    rows = []
    for cutoff, values in evaluation.metrics_by_k.items():
        row: dict[str, float] = {"k": cutoff}
        row.update({name.split("@")[0]: value for name, value in values.items() if "@" in name})
        rows.append(row)
    return pd.DataFrame(rows).sort_values("k").reset_index(drop=True)


def recommendations_frame(lists: dict[str, list[str]], k: int) -> pd.DataFrame:
    """Long frame (user_id, rank, item_id) of each user's top k, ranks starting at 1."""
    rows = [
        (user, rank, item)
        for user, items in lists.items()
        for rank, item in enumerate(items[:k], 1)
    ]
    return pd.DataFrame(rows, columns=[USER_ID, RANK, ITEM_ID])


def export_split(export_dir: Path, train: pd.DataFrame, test: pd.DataFrame) -> None:
    """Write train.csv and test.csv (user_id,item_id, source ids) for independent re-scoring;
    test.csv holds the relevant pairs only (`positive_pairs`), as the evaluation scored them."""
    export_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in (("train", train), ("test", positive_pairs(test))):
        frame[[USER_ID, ITEM_ID]].to_csv(export_dir / f"{name}.csv", index=False)


def export_recommendations(path: Path, lists: dict[str, list[str]], k: int) -> Path:
    """Write one recs file (user_id,rank,item_id) with each user's top k."""
    path.parent.mkdir(parents=True, exist_ok=True)
    recommendations_frame(lists, k).to_csv(path, index=False)
    return path


def export_run(
    export_dir: Path,
    data: SplitData,
    evaluation: Evaluation,
    suffix: str = "",
    write_split: bool = True,
) -> None:
    """train.csv, test.csv, recs{suffix}.csv and metrics{suffix}.json for independent re-scoring."""
    if write_split:
        export_split(export_dir, data.train, data.test)
    export_recommendations(export_dir / f"recs{suffix}.csv", evaluation.top_k_lists(), evaluation.k)
    (export_dir / f"metrics{suffix}.json").write_text(
        json.dumps(evaluation.metrics, indent=2, sort_keys=True), encoding="utf-8"
    )
