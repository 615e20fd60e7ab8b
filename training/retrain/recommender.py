"""`agora retrain recommender`: the catalog dataset plus stored events and published items,
gated, swapped in.

Items a platform published to the store since (`POST /items`) join the catalog with their latest
description, so the candidate knows them (by content, and by their events) and the service stops
serving them as fresh items once it is promoted. Stored positive events (views, clicks, likes,
purchases, ratings) join the training split of the dataset's protocol split, valued and merged
as `data.events` and `features.user_history` define for every path (a feed's fold-in reads the
same rules); the held-out split is the dataset's own,
so the candidate and the re-scored champion are compared on exactly the same data, with the same
items left out of their lists as seen (the stored events the candidate was trained on).

Without a config file the candidate is trained as the champion was: with the run config the
champion's run logged (`config/run_config.yaml`: its model and tuned parameters). A config tuned
on another catalog (the fast hybrid, tuned on MovieLens-100K) would be no fair challenger to a
champion tuned on this one; it is used only when the champion left no config (or there is none).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from data.schemas import GENRES, ITEM_ID, ITEM_TEXT, PUBLISHED_AT, TAG_SEPARATOR, TITLE
from data.store import Store
from features.user_history import event_interactions
from models.recommenders import load_recommender
from models.served_models import recommender_registered_name
from training.promotion import VersionSummary
from training.promotion import champion as champion_of
from training.recommender.config import RecommenderRunConfig, load_run_config
from training.recommender.evaluate import evaluate_recommender
from training.recommender.pipeline import train_recommender
from training.recommender.steps import SplitData, prepare_split
from training.recommender.tracking import mlflow_metrics
from training.retrain.common import (
    RetrainOutcome,
    champion_artifact,
    champion_run_config,
    conclude,
    refuse_a_copy,
)
from training.tracking import configure_tracking

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = (
    Path(__file__).resolve().parents[2] / "configs" / "recommender" / "hybrid.fast.yaml"
)


def events_as_interactions(store: Store) -> pd.DataFrame:
    """Positive stored events as canonical interactions (with their event-log position), valued
    by `data.events.event_value`; complaints and dislikes are left out."""
    return event_interactions(store.events.read())


def published_as_items(store: Store) -> pd.DataFrame:
    """Every item published to the store, as its latest row describes it, as an items frame."""
    published = store.published.latest_all()
    return pd.DataFrame(
        {
            ITEM_ID: [item.item_id for item in published],
            TITLE: [item.title for item in published],
            ITEM_TEXT: [item.text for item in published],
            GENRES: [TAG_SEPARATOR.join(item.genres) for item in published],
            # When its latest row was stored: what a recency filter reads, as the service did.
            PUBLISHED_AT: [int(item.published_at) for item in published],
        }
    )


def retrain_recommender(
    dataset: str = "movielens-100k",
    config_path: Path | None = None,
    store_url: str | None = None,
    tracking_uri: str | None = None,
    service_url: str | None = None,
    api_key: str | None = None,
    tolerance: float = 0.0,
) -> RetrainOutcome:
    """Train on dataset + events, compare with the champion on the same test split, promote
    only if not worse, and tell the running service to swap."""
    started = time.perf_counter()
    configure_tracking(tracking_uri)
    registered = recommender_registered_name(dataset)  # the name train_recommender registers
    run_config = _candidate_config(registered, config_path)
    store = Store(store_url)
    events = events_as_interactions(store)
    published = published_as_items(store)
    logger.info(
        "retraining on %s plus %d stored events and %d published items",
        dataset,
        len(events),
        len(published),
    )
    data = prepare_split(dataset, run_config.split).with_extra_items(published)
    trained_on = data.with_extra_train(events) if len(events) else data
    if config_path is None:  # another config is something new to train
        refuse_a_copy(
            registered,
            run_config.model,
            champion_of(MlflowClient(), registered),
            lambda version, params: learned_already(version, params, trained_on),
            f"the same {len(events)} stored events, {len(published)} published items and data",
            instead="a --config",
        )
    # The split with the events already joined: the pipeline would join (and hash) them again.
    outcome = train_recommender(dataset, run_config, tracking_uri=tracking_uri, split=trained_on)
    metric = f"ndcg@{run_config.k}"
    candidate_score = outcome.metrics[metric]
    champion_version, champion_score, champion_metrics = None, None, None
    with champion_artifact(registered) as champion:
        if champion is not None and champion[0] != outcome.model_version:
            champion_version = champion[0]
            model = load_recommender(champion[1])
            # The candidate's users (past max_users it was scored on a seeded sample of them)
            # and its seen items: the events it was trained on are left out of the champion's
            # lists too. Else a view of a held-out item costs the candidate a hit the champion
            # keeps, and a like of an item a feed showed (never a held-out one) spares it a miss
            # the champion is charged for: the gate would measure the events, not the models.
            scored = evaluate_recommender(
                model,
                data.train,
                data.test,
                k=run_config.k,
                max_users=run_config.evaluation.max_users,
                seed=run_config.evaluation.seed,
                also_seen=events,
            )
            champion_score = scored.metrics[metric]
            champion_metrics = mlflow_metrics(scored)  # the names the candidate's tags use
    return conclude(
        registered,
        (outcome.model_version, candidate_score),
        (champion_version, champion_score),
        metric,
        f"retrain with {len(events)} stored events and {len(published)} published items",
        tolerance,
        service_url,
        api_key,
        started,
        champion_metrics,
    )


def learned_already(version: VersionSummary, params: dict[str, str], data: SplitData) -> bool:
    """Whether `version` was trained on what `data` holds: the same stored events and published
    items (by the hashes its lineage records; a run that predates the items' hash is taken as
    trained on something else) and the same evaluation data (its fingerprint)."""
    lineage = data.lineage()
    same_additions = all(
        params.get(f"split.{key}") == str(lineage[key])
        for key in ("extra_train_sha256", "extra_items_sha256")
    )
    return same_additions and version.eval_fingerprint == data.fingerprint()


def _candidate_config(registered: str, config_path: Path | None) -> RecommenderRunConfig:
    """The given config file, else the champion's own run config, else the fast hybrid."""
    if config_path is not None:
        return load_run_config(config_path, None)
    logged = champion_run_config(registered)
    if logged is not None:
        version, config = logged
        logger.info(
            "training the candidate as %s v%s was trained: %s with its logged parameters",
            registered,
            version,
            config.model,
        )
        return config.for_model(None)
    logger.info("no champion config for %s: training with %s", registered, DEFAULT_CONFIG.name)
    return load_run_config(DEFAULT_CONFIG, None)
