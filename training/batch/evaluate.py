"""Offline evaluation of a saved recommender on a test split, its lists computed on any engine.

Ranking every test user is the costly part of an evaluation (issue 13 measured 5 minutes for
380k users in one process); the lists come from `recommend_all`, so they are computed batch by
batch in this process or by Ray actors, and then scored here by the same code as
`agora train recommender`'s evaluation (`training.recommender.evaluate.score_lists`): the same
users, sampled the same way past `max_users`, give the same metrics on every engine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.schemas import ITEM_ID, USER_ID
from training.batch.engine import EngineSettings, per_second
from training.batch.recommend import DEFAULT_USERS_PER_BATCH, recommend_all
from training.recommender.evaluate import (
    DEFAULT_KS,
    Evaluation,
    check_cutoffs,
    evaluation_users,
    item_popularity,
    positive_pairs,
    relevant_items,
    score_lists,
)


@dataclass(frozen=True)
class EvaluateBatchOutcome:
    """The evaluation, and how its lists were computed: worker processes and seconds."""

    evaluation: Evaluation
    processes: int
    list_seconds: float

    @property
    def users_per_second(self) -> float:
        return per_second(len(self.evaluation.recommendations), self.list_seconds)


def evaluate_on_engine(
    model_folder: str | Path,
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    ks: Sequence[int] = DEFAULT_KS,
    settings: EngineSettings | None = None,
    max_users: int | None = None,
    seed: int = 0,
    users_per_batch: int = DEFAULT_USERS_PER_BATCH,
) -> EvaluateBatchOutcome:
    """`evaluate_recommender` of the model saved in `model_folder`, with its lists computed by
    `settings`' engine. `train` gives item popularity (coverage and popularity metrics); users
    the model does not know get an empty list, scored as zero, as in training."""
    check_cutoffs(k, ks)
    started = time.perf_counter()
    test, users_total = evaluation_users(positive_pairs(test), max_users, seed)
    relevant = relevant_items(test)
    # The fitted history alone is seen: the model keeps the held-out pairs it is scored on as
    # seen (its feeds leave them out), and the training evaluation masked only its history.
    batch = recommend_all(
        model_folder, list(relevant), max({k, *ks}), settings, users_per_batch, as_feeds=False
    )
    lists: dict[str, list[str]] = {user: [] for user in relevant}
    # recommend_all's rows are each user's list in rank order.
    for user, items in batch.recommendations.groupby(USER_ID, sort=False)[ITEM_ID]:
        lists[str(user)] = [str(item) for item in items]
    evaluation = score_lists(lists, relevant, item_popularity(train), k, ks, users_total, started)
    return EvaluateBatchOutcome(evaluation, batch.processes, batch.seconds)
