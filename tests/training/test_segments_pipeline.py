"""`agora segments` end to end on tiny data: one tier per user, the run logged, the store set."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from data.store import Event, Store
from data.store.segments import ACTIVITY_COLUMNS, CONTACT_COLUMNS
from models.recommenders import Recommender, create_recommender
from tests.models.recommenders.conftest import community_interactions, community_items
from training import segments as pipeline

pytestmark = pytest.mark.integration  # a real MLflow store


def tiny_champion() -> Recommender:
    params = {"factors": 4, "iterations": 10, "regularization": 0.1, "use_gpu": False}
    return create_recommender("als", params).fit(community_interactions(), community_items())


def test_segments_run_logs_sizes_and_descriptions_and_fills_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(store_url)
    # Dataset times run to ~11,000 s; the store adds a newcomer and a complaint within a day.
    store.events.add([Event("e1", "fresh", "i1", "view", 20_000)])
    store.triage.record("late again", {}, {}, "en", True, "u01", occurred_at=15_000.0)
    monkeypatch.setattr(
        pipeline, "load_dataset", lambda name: (community_interactions(), community_items())
    )
    monkeypatch.setattr(pipeline, "champion_recommender", lambda name: (tiny_champion(), "3"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    outcome = pipeline.run_segments("tiny", store_url=store_url, tracking_uri=uri)

    assert outcome.users == 13  # u00-u11 and "fresh"
    assert sum(outcome.tier_sizes.values()) == 13
    assert outcome.tier_sizes["at_risk"] == 1 and outcome.tier_sizes["newcomer"] == 12
    assert outcome.factor_source == "als" and sum(outcome.cluster_sizes.values()) == 12
    assert sum(store.segments.sizes().values()) == 13
    u01 = store.segments.of("u01")
    assert u01 is not None and u01.segment == "at_risk" and u01.run_id == outcome.run_id
    assert u01.details["open_complaints"] == 1 and u01.details["taste_cluster"] is not None
    fresh = store.segments.of("fresh")
    assert fresh is not None and fresh.details["taste_cluster"] is None  # not in the model

    mlflow.set_tracking_uri(uri)
    run = MlflowClient().get_run(outcome.run_id)
    metrics = run.data.metrics
    assert metrics["tier_size.at_risk"] == 1 and metrics["tier_size.newcomer"] == 12
    assert metrics["tier_size.core"] == metrics["tier_size.dormant"] == 0
    assert metrics["users_without_taste_cluster"] == 1
    assert run.data.params["tier_order"] == "at_risk,newcomer,core,casual,dormant"
    assert run.data.tags["agora.factor_source"] == "als"
    artifacts = {a.path for a in MlflowClient().list_artifacts(outcome.run_id)}
    assert {"tiers.json", "taste_clusters.json", "segments.md", "default.yaml"} <= artifacts
    table = mlflow.artifacts.load_dict(f"runs:/{outcome.run_id}/tiers.json")
    described = pd.DataFrame(table["data"], columns=table["columns"]).set_index("tier")
    assert described.loc["at_risk", "users"] == 1
    assert described.loc["at_risk", "description"].startswith("An open complaint")


def test_without_user_factors_the_clusters_say_what_they_were_fitted_on() -> None:
    ease = create_recommender("ease", {"regularization": 1.0}).fit(community_interactions())
    empty = pd.DataFrame(columns=ACTIVITY_COLUMNS)
    contacts = pd.DataFrame(columns=CONTACT_COLUMNS)
    config = pipeline.SegmentsConfig.from_mapping({"taste": {"clusters": 2}})
    result = pipeline.segment_users(
        community_interactions(), community_items(), empty, contacts, config, ease
    )
    assert result.factor_source == "truncated-svd of the interactions"
    assert result.assignments["taste_cluster"].notna().all()
    assert result.assignments["segment"].isin([t.name for t in config.tiers]).all()
