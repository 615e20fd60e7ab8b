"""Re-score a recommender champion on a candidate's split, for the promotion gate.

A champion trained before its dataset was re-imported, or with another split, was scored on
other pairs than its successor; `agora models promote --rescore` then scores the champion on the
candidate's split, with the candidate's cut-off and user sample, so the two figures compare (what
`agora retrain recommender` does for the candidate it trains).
"""

from __future__ import annotations

import logging

from models.recommenders import load_recommender
from training.recommender.evaluate import evaluate_recommender
from training.recommender.steps import prepare_split
from training.recommender.tracking import logged_run_config, mlflow_metrics, primary_metric
from training.rescore import Candidate, Rescored, RescoreError
from training.retrain.common import champion_artifact

logger = logging.getLogger(__name__)


def rescore_recommender(candidate: Candidate) -> Rescored:
    """The current champion scored on the split, cut-off and user sample `candidate` was
    evaluated on."""
    name, version = candidate.name, candidate.version
    config = logged_run_config(candidate.run_id)
    if config is None:
        raise RescoreError(f"{name} v{version}'s run logged no run config, so its split is unknown")
    dataset = candidate.tags.get("agora.dataset")
    if not dataset:
        raise RescoreError(f"{name} v{version}'s run names no dataset")
    data = prepare_split(dataset, config.split)
    metric = primary_metric(config.k)
    with champion_artifact(name) as found:
        if found is None:
            raise RescoreError(f"{name} has no champion any more")
        champion_version, folder = found
        scored = evaluate_recommender(
            load_recommender(folder),
            data.train,
            data.test,
            k=config.k,
            max_users=config.evaluation.max_users,
            seed=config.evaluation.seed,
        )
    value = float(scored.metrics[f"ndcg@{config.k}"])
    logger.info(
        "champion %s v%s re-scored on %s: %s %.4f", name, champion_version, dataset, metric, value
    )
    return Rescored(champion_version, metric, value, dataset, mlflow_metrics(scored))
