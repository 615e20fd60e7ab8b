"""Re-score a recommender champion on a candidate's evaluation data, for the promotion gate.

The gate compares two versions only when they were evaluated on the same held-out pairs (their
evaluation fingerprints agree). A champion trained before its dataset was re-imported, or with
another split, was scored on other pairs; `agora models promote --rescore` then scores the
champion on the candidate's split, with the candidate's cut-off and user sample, so the two
figures compare (what `agora retrain recommender` does for the candidate it trains).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from models.recommenders import load_recommender
from training.promotion import RegistryError, champion, list_versions
from training.recommender.evaluate import evaluate_recommender
from training.recommender.steps import prepare_split
from training.recommender.tracking import FAMILY, logged_run_config, primary_metric
from training.retrain.common import champion_artifact

logger = logging.getLogger(__name__)


class RescoreError(ValueError):
    """The champion cannot be re-scored on the candidate's data; the message says why."""


@dataclass(frozen=True)
class Rescored:
    """The champion's figure on the candidate's data, with what it was scored on."""

    champion_version: str
    metric: str
    value: float
    dataset: str


def rescore_champion(
    client: MlflowClient, name: str, candidate_version: str | None = None
) -> Rescored | None:
    """The current champion of `name` scored on the split, cut-off and user sample that
    version `candidate_version` (default: the newest, as `promote`) was evaluated on; None when
    there is no champion, or the candidate is it (the gate has nothing to compare)."""
    if candidate_version is None:
        versions = list_versions(client, name)
        if not versions:
            raise RegistryError(f"registered model '{name}' has no versions")
        candidate_version = versions[0].version
    try:
        candidate = client.get_model_version(name, candidate_version)
    except MlflowException:
        raise RegistryError(f"{name} has no version {candidate_version}") from None
    if candidate.run_id is None:
        raise RescoreError(f"{name} v{candidate_version} has no training run to read its split")
    tags = client.get_run(candidate.run_id).data.tags
    if tags.get("agora.family") != FAMILY:
        raise RescoreError(
            f"--rescore re-scores recommenders; {name} is a {tags.get('agora.family')} model "
            "(its retrain, `agora retrain triage`, re-scores the champion on its own data)"
        )
    current = champion(client, name)
    if current is None or current.version == str(candidate_version):
        return None
    config = logged_run_config(candidate.run_id)
    if config is None:
        raise RescoreError(
            f"{name} v{candidate_version}'s run logged no run config, so its split is unknown"
        )
    dataset = tags.get("agora.dataset")
    if not dataset:
        raise RescoreError(f"{name} v{candidate_version}'s run names no dataset")
    data = prepare_split(dataset, config.split)
    metric = primary_metric(config.k)
    with champion_artifact(name) as found:
        assert found is not None  # the champion was found above
        version, folder = found
        scored = evaluate_recommender(
            load_recommender(folder),
            data.train,
            data.test,
            k=config.k,
            max_users=config.evaluation.max_users,
            seed=config.evaluation.seed,
        )
    value = float(scored.metrics[f"ndcg@{config.k}"])
    logger.info("champion %s v%s re-scored on %s: %s %.4f", name, version, dataset, metric, value)
    return Rescored(version, metric, value, dataset)
