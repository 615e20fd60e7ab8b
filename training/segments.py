"""`agora segments`: users in tiers and taste clusters, logged to MLflow, written to the store.

Steps: the dataset's interactions and the store's events give each user's activity (counted
and dated in the database, not row by row here); the triage log gives their complaints; the
tier rules (`models.segments`, configured in `configs/segments/*.yaml`) give each user exactly
one tier; k-means on the champion recommender's user factors gives a taste cluster. The run
logs the rules, the tier and cluster sizes and their descriptions, then replaces the store's
assignments in one transaction (the MLflow run id is the store's run_id).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from data.store import SegmentRow, Store
from models.recommenders import Recommender, load_recommender
from models.segments import (
    FEATURES,
    SegmentsConfig,
    assign_tiers,
    combine_activity,
    dataset_activity,
    describe_clusters,
    describe_tiers,
    fit_taste_clusters,
    interaction_factors,
    recommender_user_factors,
    resolve_as_of,
    rule_text,
    user_features,
)
from models.served_models import recommender_registered_name
from training.recommender.steps import load_dataset
from training.retrain.common import champion_artifact
from training.tracking import configure_tracking, run_tags, tracked_run

logger = logging.getLogger(__name__)

EXPERIMENT = "agora-segments"
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "segments" / "default.yaml"
ROW_CHUNK = 5_000  # users serialised to JSON at a time on the way to the store


@dataclass(frozen=True)
class Segmentation:
    """What a segmentation decided.

    assignments: per user (index user_id) the tier (`segment`), FEATURES and `taste_cluster`
    (missing for users the factors do not cover); tiers and clusters: one described row each.
    """

    assignments: pd.DataFrame
    tiers: pd.DataFrame
    clusters: pd.DataFrame
    as_of: float
    factor_source: str


@dataclass(frozen=True)
class SegmentsOutcome:
    run_id: str
    users: int
    tier_sizes: dict[str, int]
    cluster_sizes: dict[int, int]
    factor_source: str
    as_of: float
    seconds: float


def segment_users(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None,
    stored_activity: pd.DataFrame,
    contacts: pd.DataFrame,
    config: SegmentsConfig,
    model: Recommender | None = None,
) -> Segmentation:
    """Tiers and taste clusters of every user of the interactions, the stored events
    (`stored_activity`: per-user aggregates) and the triage log (`contacts`)."""
    activity = combine_activity(dataset_activity(interactions), stored_activity)
    as_of = resolve_as_of(config, activity, contacts)
    features = user_features(activity, contacts, as_of)
    tiers = assign_tiers(features, config)
    factors = recommender_user_factors(model) if model is not None else None
    if factors is None and len(interactions):
        why = "no champion recommender" if model is None else f"{model.model_type} has none"
        logger.warning("no recommender user factors (%s): clustering an SVD instead", why)
        factors = interaction_factors(interactions, seed=config.taste.seed)
    if factors is not None:
        labels = fit_taste_clusters(factors.factors, config.taste)
        by_user = pd.Series(labels, index=pd.Index(factors.user_ids, name="user_id"))
    else:
        by_user = pd.Series(dtype="int64")
    clusters = by_user.reindex(features.index).astype("Int64")
    assignments = features.assign(segment=tiers, taste_cluster=clusters)
    return Segmentation(
        assignments=assignments,
        tiers=describe_tiers(config, tiers),
        clusters=describe_clusters(by_user, interactions, items, config.taste),
        as_of=as_of,
        factor_source=factors.source if factors is not None else "none",
    )


def segment_rows(assignments: pd.DataFrame, as_of: float) -> Iterator[SegmentRow]:
    """The store's rows, built ROW_CHUNK users at a time (pandas writes the JSON)."""
    for start in range(0, len(assignments), ROW_CHUNK):
        chunk = assignments.iloc[start : start + ROW_CHUNK]
        details = chunk[[*FEATURES, "taste_cluster"]].round(2).assign(as_of=round(as_of))
        lines = details.to_json(orient="records", lines=True).splitlines()
        for user_id, segment, line in zip(chunk.index, chunk["segment"], lines, strict=True):
            yield SegmentRow(str(user_id), str(segment), line)


def champion_recommender(dataset: str) -> tuple[Recommender | None, str | None]:
    """The dataset's champion recommender and its version (None, None without one)."""
    with champion_artifact(recommender_registered_name(dataset)) as champion:
        if champion is None:
            return None, None
        return load_recommender(champion[1]), champion[0]


def run_segments(
    dataset: str = "movielens-100k",
    config_path: Path | None = None,
    store_url: str | None = None,
    tracking_uri: str | None = None,
) -> SegmentsOutcome:
    """Segment every user, log the run, and replace the store's assignments with it."""
    started = time.perf_counter()
    configure_tracking(tracking_uri)
    config_path = config_path or DEFAULT_CONFIG
    config = SegmentsConfig.from_yaml(config_path)
    store = Store(store_url)
    interactions, items = load_dataset(dataset)
    model, version = champion_recommender(dataset)
    segmentation = segment_users(
        interactions,
        items,
        store.segments.activity_by_user(),
        store.segments.complaints_by_customer(),
        config,
        model,
    )
    tags = run_tags(
        "segments", "tiers+kmeans", dataset=dataset, factor_source=segmentation.factor_source
    )
    tags["agora.recommender_version"] = version or "none"
    with tracked_run(EXPERIMENT, f"segments-{dataset}", tags) as run:
        _log_segmentation(config, config_path, dataset, segmentation)
        written = store.segments.replace(
            run.info.run_id, segment_rows(segmentation.assignments, segmentation.as_of)
        )
        mlflow.log_metric("users_written", written)
        seconds = time.perf_counter() - started
        mlflow.log_metric("seconds", seconds)
    sizes = segmentation.tiers.set_index("tier")["users"].astype(int).to_dict()
    clusters = segmentation.clusters.set_index("cluster")["users"].astype(int).to_dict()
    logger.info("segments of %d users: %s", written, sizes)
    return SegmentsOutcome(
        run.info.run_id,
        written,
        sizes,
        clusters,
        segmentation.factor_source,
        segmentation.as_of,
        seconds,
    )


def _log_segmentation(
    config: SegmentsConfig, config_path: Path, dataset: str, segmentation: Segmentation
) -> None:
    """Params (the rules), tier and cluster sizes as metrics, descriptions as tables."""
    params: dict[str, object] = {
        "dataset": dataset,
        "as_of_mode": config.as_of,
        "as_of": pd.Timestamp(segmentation.as_of, unit="s").isoformat(),
        "cold_max_events": config.cold_max_events,
        "factor_source": segmentation.factor_source,
        "tier_order": ",".join(tier.name for tier in config.tiers),
        **{f"taste.{key}": value for key, value in config.taste.model_dump().items()},
        **{f"tier.{tier.name}.rule": rule_text(tier)[:500] for tier in config.tiers},
    }
    mlflow.log_params(params)
    tiers, clusters = segmentation.tiers, segmentation.clusters
    metrics = {"users": float(len(segmentation.assignments))}
    for row in tiers.itertuples():  # one row per configured tier, not per user
        metrics[f"tier_size.{row.tier}"] = float(row.users)
        metrics[f"tier_share.{row.tier}"] = float(row.share)
    for row in clusters.itertuples():
        metrics[f"cluster_size.{row.cluster}"] = float(row.users)
    covered = segmentation.assignments["taste_cluster"].notna()
    metrics["users_without_taste_cluster"] = float((~covered).sum())
    mlflow.log_metrics(metrics)
    mlflow.log_table(tiers, "tiers.json")
    mlflow.log_table(clusters, "taste_clusters.json")
    mlflow.log_dict(json.loads(config.model_dump_json()), "segments_config.json")
    mlflow.log_artifact(str(config_path))
    mlflow.log_text(_markdown(tiers, clusters), "segments.md")


def _markdown(tiers: pd.DataFrame, clusters: pd.DataFrame) -> str:
    lines = ["# Tiers (first rule that holds wins)", ""]
    for row in tiers.itertuples():
        lines.append(
            f"{row.priority}. **{row.tier}** ({row.users} users, {row.share:.1%}): "
            f"{row.description} Rule: {row.rule}. Feed rules: {row.feed_rules}"
        )
    lines += ["", "# Taste clusters", ""]
    lines += [f"- {description}" for description in clusters["description"]]
    return "\n".join(lines) + "\n"
