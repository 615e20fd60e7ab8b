"""`agora models promote --rescore`: the champion scored on a candidate's evaluation data.

The gate compares two versions only when they were evaluated on the same data (their evaluation
fingerprints agree). When they were not, `--rescore` scores the current champion on the data the
candidate was evaluated on, so the two figures compare: for a recommender, the candidate's split,
cut-off and user sample (training/recommender/rescore.py); for a triage model, the candidate's
test part (training/triage/rescore.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training.promotion import RegistryError, champion, list_versions


class RescoreError(ValueError):
    """The champion cannot be re-scored on the candidate's data; the message says why."""


@dataclass(frozen=True)
class Rescored:
    """The champion's figure on the candidate's data, with what it was scored on, and every
    metric of that scoring under the names versions record them by (for the gate's guards)."""

    champion_version: str
    metric: str
    value: float
    dataset: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class Candidate:
    """The version to promote: its registered name, version, training run and the run's tags."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str]


def rescore_champion(
    client: MlflowClient, name: str, candidate_version: str | None = None
) -> Rescored | None:
    """The current champion of `name` scored on the data version `candidate_version` (default:
    the newest, as `promote`) was evaluated on; None when there is no champion, or the candidate
    is it (the gate has nothing to compare)."""
    if candidate_version is None:
        versions = list_versions(client, name)
        if not versions:
            raise RegistryError(f"registered model '{name}' has no versions")
        candidate_version = versions[0].version
    try:
        version = client.get_model_version(name, candidate_version)
    except MlflowException:
        raise RegistryError(f"{name} has no version {candidate_version}") from None
    if version.run_id is None:
        raise RescoreError(f"{name} v{candidate_version} has no training run to read its data")
    tags = dict(client.get_run(version.run_id).data.tags)
    current = champion(client, name)
    if current is None or current.version == str(candidate_version):
        return None
    candidate = Candidate(name, str(candidate_version), version.run_id, tags)
    family = tags.get("agora.family")
    # Imported here: each family's module imports this one's types.
    if family == "recommender":
        from training.recommender.rescore import rescore_recommender

        return rescore_recommender(candidate)
    if family == "triage":
        from training.triage.rescore import rescore_triage

        return rescore_triage(candidate)
    raise RescoreError(f"{name} v{candidate_version}'s run records no family a rescore knows")
