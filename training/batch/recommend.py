"""Top-k recommendations for every user of a dataset, batch by batch, on any engine.

Each worker loads the saved recommender once and scores its batches with the feed router's
`fitted_feeds` (the contract's `recommend_batch`), so the lists are those a single process gives
for the same batches (the batches are cut the same way on every engine). By default a user's
list leaves out what the service's feed leaves out for them as seen: the fitted history and the
pairs the model keeps as seen beyond it (`also_seen`: non-positive ratings, the pairs held out
to evaluate it). The evaluation asks for the fitted history alone (it scores those held-out
pairs). Users the model does not know (none of their interactions were in its training data)
are counted and left out: a feed for them is decided online by the feed router, not by the model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data.schemas import ITEM_ID, USER_ID
from models.recommenders import RetiredItems, fitted_feeds, load_recommender
from training.batch.engine import (
    EngineSettings,
    ShippedFolder,
    per_second,
    run_batches,
    ship,
    split_batches,
)

logger = logging.getLogger(__name__)

RANK = "rank"
SCORE = "score"
OUTPUT_COLUMNS = (USER_ID, RANK, ITEM_ID, SCORE)
DEFAULT_USERS_PER_BATCH = 256


@dataclass(frozen=True)
class RecommendBatchOutcome:
    """The lists (one row per user and rank), how many users were scored and skipped, and how."""

    recommendations: pd.DataFrame
    users: int
    unknown_users: int
    processes: int
    seconds: float

    @property
    def users_per_second(self) -> float:
        return per_second(self.users, self.seconds)


class RecommendWorker:
    """One worker's recommender, loaded once from its saved folder."""

    def __init__(
        self,
        model: ShippedFolder,
        k: int,
        as_feeds: bool = True,
        retired: frozenset[str] = frozenset(),
    ) -> None:
        with model.opened() as folder:
            self.model = load_recommender(folder)
        self.k = k
        self.as_feeds = as_feeds
        self.retired = RetiredItems(retired)  # one set for every batch: looked up once

    def __call__(self, user_ids: Sequence[str]) -> tuple[pd.DataFrame, int]:
        """The batch's lists as rows, and how many of its users the model does not know."""
        known = [user for user in user_ids if self.model.known_user(user)]
        if not known:
            lists = {}
        elif self.as_feeds:
            lists = fitted_feeds(self.model, known, self.k, retired=self.retired)
        else:  # the fitted history alone is seen
            lists = self.model.recommend_batch(known, self.k)
        return recommendations_frame(lists), len(user_ids) - len(known)


def recommendations_frame(lists: dict[str, list]) -> pd.DataFrame:
    """`recommend_batch`'s answer as rows (user_id, rank from 1, item_id, score)."""
    users, ranks, items, scores = [], [], [], []
    for user, picks in lists.items():
        for rank, pick in enumerate(picks, start=1):
            users.append(user)
            ranks.append(rank)
            items.append(pick.item_id)
            scores.append(pick.score)
    return pd.DataFrame(
        {
            USER_ID: pd.Series(users, dtype="string"),
            RANK: np.asarray(ranks, dtype=np.int32),
            ITEM_ID: pd.Series(items, dtype="string"),
            SCORE: np.asarray(scores, dtype=np.float64),
        }
    )


def recommend_all(
    model_folder: str | Path,
    user_ids: Sequence[str],
    k: int = 10,
    settings: EngineSettings | None = None,
    users_per_batch: int = DEFAULT_USERS_PER_BATCH,
    as_feeds: bool = True,
    retired: frozenset[str] = frozenset(),
) -> RecommendBatchOutcome:
    """Top-k for each of `user_ids` with the recommender saved in `model_folder`: their feeds
    (what the service leaves out as seen is left out, and the `retired` items, as every feed
    leaves them out), or with `as_feeds=False` lists with the fitted history alone left out
    (the evaluation's, which scores the model on its test split and ignores retirements)."""
    settings = settings or EngineSettings()
    users = sorted(dict.fromkeys(str(user) for user in user_ids))
    batches = split_batches(users, users_per_batch)
    worker_args = (ship(model_folder, settings), k, as_feeds, frozenset(retired))
    run = run_batches(RecommendWorker, worker_args, batches, settings)
    frames = [frame for frame, _ in run.results]
    unknown = sum(count for _, count in run.results)
    combined = pd.concat(frames, ignore_index=True) if frames else recommendations_frame({})
    logger.info(
        "recommended for %d users (%d unknown to the model) on %d %s process(es) in %.1f s",
        len(users) - unknown,
        unknown,
        run.processes,
        settings.engine,
        run.seconds,
    )
    return RecommendBatchOutcome(
        combined, len(users) - unknown, unknown, run.processes, run.seconds
    )
