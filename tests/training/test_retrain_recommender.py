"""agora retrain recommender: stored events join training, the gate compares on the same split."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from data.store import Event, Store
from training.recommender.config import load_run_config
from training.recommender.pipeline import train_recommender
from training.registry import champion, promote
from training.retrain.recommender import events_as_interactions, retrain_recommender

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "recommender"


def test_events_become_interactions_without_complaints(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.add_events(
        [
            Event("a", "u1", "i1", "like", 10),
            Event("b", "u1", "i2", "complaint", 11),
            Event("c", "u1", "i3", "rating", 12, weight=2.0),
        ]
    )
    frame = events_as_interactions(store)
    assert frame[["item_id", "rating"]].values.tolist() == [["i1", 4.0], ["i3", 2.0]]


def test_retrain_with_events_is_gated_against_the_rescored_champion(
    mirror: Path, tmp_path: Path
) -> None:
    ease = CONFIGS / "ease.fast.yaml"
    first = train_recommender("movielens-100k", load_run_config(ease, None))
    client = MlflowClient()
    promote(client, "agora-recommender", first.model_version)
    store_url = f"sqlite:///{tmp_path / 'events.db'}"
    Store(store_url).add_events(
        [
            Event(f"e{i}", "fresh-user", item, "like", 1_700_000_000 + i)
            for i, item in enumerate(["50", "181", "172", "174"])
        ]
    )
    better = retrain_recommender(config_path=ease, store_url=store_url, tolerance=0.01)
    # EASE is deterministic: re-scoring the champion reproduces its recorded test metric.
    assert better.champion_score == pytest.approx(first.metrics["ndcg@10"], abs=1e-9)
    assert (
        better.promoted
        and champion(client, "agora-recommender").version == better.candidate_version
    )
    weak = retrain_recommender(config_path=CONFIGS / "popularity.fast.yaml", store_url=store_url)
    assert not weak.promoted and "worse" in weak.decision
    assert champion(client, "agora-recommender").version == better.candidate_version
