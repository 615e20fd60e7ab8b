"""The champions `agora batch` works with, resolved the way the service resolves them.

`serving`'s champion cache and slot bindings (the same registry, the same cache folder) give the
models' saved folders; the registry's tags and runs say what a version was trained on. The batch
pipelines in `training.batch` then get only the folders. This module is where the two meet.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from cli.exit_codes import bad_input

if TYPE_CHECKING:
    from serving.champion_cache import ChampionCache
    from training.batch import TriageChampion

logger = logging.getLogger(__name__)


def check_registry(tracking_uri: str | None) -> None:
    """Exit 2, before any work and creating nothing, for a registry the champions cannot come
    from: a bare path, or a SQLite registry that does not exist (a mistyped path; the local
    default may: a fresh home has none yet). A server that does not answer is not refused: the
    champion cache answers for it, as it does for the service."""
    from data.paths import default_tracking_uri
    from data.paths import tracking_uri as resolved_uri
    from training.tracking_store import TrackingStoreError, check_tracking_store

    uri = resolved_uri(tracking_uri)
    try:
        check_tracking_store(uri, must_exist=uri != default_tracking_uri(), probe_server=False)
    except TrackingStoreError as error:
        raise bad_input(error) from None


def _champion_cache(tracking_uri: str | None) -> tuple[object, ChampionCache]:
    from serving.champion_cache import ChampionCache
    from serving.settings import Settings

    settings = Settings.from_env()
    if tracking_uri:
        settings = dataclasses.replace(settings, tracking_uri=tracking_uri)
    return settings, ChampionCache(settings.cache_dir, settings.tracking_uri)


def served_triage_champions(tracking_uri: str | None = None) -> list[TriageChampion]:
    """The champion of every triage slot the service would serve now (slots without one are
    skipped with a warning, as the service does)."""
    from models.served_models import RECOMMENDER_SLOT
    from serving.champion_cache import ChampionUnavailableError
    from serving.served_models import resolve_slots
    from training.batch import TriageChampion

    settings, cache = _champion_cache(tracking_uri)
    slots, _ = resolve_slots(settings, cache)  # type: ignore[arg-type]
    champions = []
    for slot in (s for s in slots if s != RECOMMENDER_SLOT):
        try:
            ref = cache.resolve(slots[slot].name)
        except ChampionUnavailableError as error:
            logger.warning("triage slot %s not used: %s", slot, error)
            continue
        champions.append(TriageChampion(slot, ref.native_path, ref.name, ref.version))
    return champions


def recommender_champion(name: str, tracking_uri: str | None = None) -> tuple[str, str, Path]:
    """`name`'s champion as the service would serve it: (version, where from, model folder)."""
    ref = _champion_cache(tracking_uri)[1].resolve(name)
    return ref.version, ref.source, Path(ref.native_path)


def check_trained_for(name: str, version: str, dataset: str, tracking_uri: str | None) -> None:
    """Refuse (exit 2) a version that is not a recommender, or was trained on another dataset:
    scored on DATASET, another catalog's model answers with ids that mean other users and items.
    The check needs the registry's tags; a champion served from the local cache passes."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from training.recommender.tracking import FAMILY
    from training.tracking import configure_tracking
    from training.tracking_store import TrackingStoreError

    try:
        configure_tracking(tracking_uri, must_exist=True)
        tags = MlflowClient().get_model_version(name, version).tags or {}
    except (MlflowException, TrackingStoreError):  # no registry to read: nothing to check
        return
    family, trained = tags.get("agora.family"), tags.get("agora.dataset")
    if family not in (None, FAMILY):
        raise bad_input(f"{name} v{version} is a {family} model, not a recommender")
    if trained is not None and trained != dataset:
        raise bad_input(
            f"{name} v{version} was trained on '{trained}', not '{dataset}': its users and "
            f"items are that dataset's; give --model a recommender trained on '{dataset}'"
        )


@dataclasses.dataclass(frozen=True)
class ChampionRun:
    """What a registered recommender's run recorded: its split and its metrics at training, and
    the fingerprint of the test split they were measured on (None for a version without one)."""

    train_ratio: float
    seed: int
    metrics: dict[str, float]
    eval_fingerprint: str | None = None


def champion_run(name: str, version: str, tracking_uri: str | None = None) -> ChampionRun:
    """The split `name` v`version` was trained on (from its MLflow run: evaluating on any other
    split would score the model on data it was trained on) and the metrics its version carries."""
    from mlflow.tracking import MlflowClient

    from training.promotion import TAG_EVAL_FINGERPRINT, TAG_METRIC_PREFIX
    from training.tracking import configure_tracking

    configure_tracking(tracking_uri, must_exist=True)
    client = MlflowClient()
    registered = client.get_model_version(name, version)
    params = client.get_run(registered.run_id).data.params
    try:
        ratio, seed = float(params["split.train_ratio"]), int(params["split.seed"])
    except KeyError:
        raise ValueError(
            f"{name} v{version}'s run records no split (split.train_ratio, split.seed): "
            "it cannot be evaluated on its own test split"
        ) from None
    metrics = {
        key.removeprefix(TAG_METRIC_PREFIX): float(value)
        for key, value in registered.tags.items()
        if key.startswith(TAG_METRIC_PREFIX)
    }
    return ChampionRun(ratio, seed, metrics, registered.tags.get(TAG_EVAL_FINGERPRINT))
