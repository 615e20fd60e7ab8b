"""The training pipeline end to end on tiny data, against a real MLflow SQLite store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from data.imported import import_file
from features.splits import SplitTooSmallError
from models.served_models import recommender_registered_name
from training.recommender import budgeted
from training.recommender.config import RecommenderRunConfig, TuningConfig
from training.recommender.pipeline import train_recommender

pytestmark = pytest.mark.integration


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> str:
    """40 users in two taste groups of 15 items each; every user rated 9 items of their group."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(40):
        group = range(0, 15) if user < 20 else range(15, 30)
        for item in rng.choice(list(group), size=9, replace=False):
            rows.append((f"u{user}", f"i{item}", 1.0, 1_700_000_000 + len(rows)))
    path = tmp_path / "tiny.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"]).to_csv(
        path, index=False
    )
    import_file(path, "interactions", {}, "tiny-groups")
    return "tiny-groups"


def test_tuned_run_logs_everything_and_registers_a_loadable_model(
    tiny_dataset: str, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = RecommenderRunConfig(
        model="ease", params={"regularization": 5.0}, tuning=TuningConfig(seed=3)
    )
    outcome = train_recommender(tiny_dataset, config, tune_trials=2, tracking_uri=uri)

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(outcome.run_id)
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params["model"] == "ease" and params["tune_trials"] == "2"
    assert params["split.seed"] == "42" and params["split.train_ratio"] == "0.75"
    assert params["tuning.seed"] == "3"
    assert float(params["params.regularization"]) == outcome.params["regularization"]
    assert metrics["ndcg_at_10"] == pytest.approx(outcome.metrics["ndcg@10"])
    # Two taste groups: an item-item model must find each user's group far above chance.
    assert outcome.metrics["hit_rate@10"] > 0.9
    # 3 test items among 24 unseen: chance precision is 3/24; in-group ranking gives 3/10.
    assert outcome.metrics["precision@10"] > 0.2
    assert {"fit_seconds", "eval_seconds", "tune_seconds", "tuning_best_ndcg_at_10"} <= set(metrics)
    # 40 users: below the sample size, all scored; the interval brackets the mean.
    assert metrics["eval_users_total"] == 40 and params["eval_sampled"] == "False"
    # Where the time went, step by step, as the run's metrics and the outcome.
    steps = {"load_split", "tuning", "fit", "evaluate", "log_register"}
    assert set(outcome.step_seconds) == steps
    assert all(metrics[f"seconds_{step}"] == outcome.step_seconds[step] for step in steps)
    assert outcome.step_seconds["fit"] >= outcome.fit_seconds
    assert (
        metrics["ndcg_at_10_ci95_low"] <= metrics["ndcg_at_10"] <= metrics["ndcg_at_10_ci95_high"]
    )
    curve = client.get_metric_history(outcome.run_id, "ndcg_by_k")
    assert sorted(m.step for m in curve) == [1, 5, 10, 20, 50]
    assert tags["agora.dataset"] == tiny_dataset
    assert tags["agora.git_commit"]
    assert any(key.startswith("data.tiny-groups.") for key in tags)  # dataset fingerprint

    artifacts = _artifact_paths(client, outcome.run_id)
    for expected in (
        "lineage.json",
        "config/run_config.yaml",
        "evaluation/metrics_by_k.png",
        "evaluation/popularity_bias.png",
        "evaluation/metrics_by_k.csv",
        "tuning/trials.csv",
    ):
        assert expected in artifacts, artifacts
    assert outcome.effective_config.provenance["mlflow_run_id"] == outcome.run_id

    # Regression: every recommender registered as agora-recommender whatever its dataset, so
    # the gate compared a user's catalog with MovieLens; each dataset now has its own name.
    registered = recommender_registered_name(tiny_dataset)
    assert registered == "agora-recommender-tiny-groups"
    version = client.get_model_version(registered, outcome.model_version)
    assert version.run_id == outcome.run_id
    assert version.tags["agora.primary_metric"] == "ndcg_at_10"
    assert float(version.tags["agora.metric.ndcg_at_10"]) == pytest.approx(metrics["ndcg_at_10"])
    assert version.tags["agora.model"] == "ease"

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{registered}/{outcome.model_version}")
    answer = pyfunc.predict(pd.DataFrame({"user_id": ["u0", "u25"]}), params={"k": 3})
    assert list(answer.columns) == ["user_id", "rank", "item_id", "score"]
    assert answer.groupby("user_id").size().to_dict() == {"u0": 3, "u25": 3}
    # Each user's top 3 comes from their own taste group.
    assert all(int(i[1:]) < 15 for i in answer.loc[answer.user_id == "u0", "item_id"])
    assert all(int(i[1:]) >= 15 for i in answer.loc[answer.user_id == "u25", "item_id"])
    # Regression: the pyfunc raised UnknownUserError for a user the model never saw; it now
    # answers like the service's feed router (the popular fallback).
    newcomer = pyfunc.predict(pd.DataFrame({"user_id": ["never-seen"]}), params={"k": 2})
    native = pyfunc.unwrap_python_model().recommender
    assert newcomer["item_id"].tolist() == [r.item_id for r in native.popular_items(2)]
    assert len(newcomer) == 2
    # The pairs held out to evaluate it are kept as seen: the served feed never offers them.
    held_out = native.catalog.also_seen_items("u0")
    assert len(held_out) == 3 and not held_out & set(native.catalog.history_of("u0").items)


def _artifact_paths(client: MlflowClient, run_id: str, folder: str | None = None) -> set[str]:
    paths = set()
    for entry in client.list_artifacts(run_id, folder):
        if entry.is_dir:
            paths |= _artifact_paths(client, run_id, entry.path)
        else:
            paths.add(entry.path)
    return paths


def test_a_budgeted_hybrid_that_loses_to_a_component_registers_the_component(
    tiny_dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both taste groups are equally popular: popularity drags the equal-weight fusion (the
    # only one the patched budget tries) below EASE alone.
    monkeypatch.setattr(budgeted, "MAX_FUSION_TRIALS", 1)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    components = [{"type": "popularity", "weight": 1.0}, {"type": "ease", "weight": 1.0}]
    config = RecommenderRunConfig(model="hybrid", params={"components": components})
    outcome = train_recommender(tiny_dataset, config, tracking_uri=uri, budget_minutes=0.1)

    assert outcome.requested_model == "hybrid" and outcome.model == "ease"
    assert outcome.fallback_reason is not None and "ease alone" in outcome.fallback_reason
    assert outcome.effective_config.model == "ease"
    assert outcome.peak_memory_mib > 0
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(outcome.run_id)
    assert run.data.params["served_model"] == "ease"
    assert run.data.params["requested_model"] == "hybrid"
    assert run.data.metrics["peak_memory_mib"] == pytest.approx(outcome.peak_memory_mib)
    validation = run.data.metrics
    assert validation["validation_hybrid_ndcg_at_10"] < validation["validation_ease_ndcg_at_10"]
    assert "tuning/summary.txt" in _artifact_paths(client, outcome.run_id)
    # the same registered name the hybrid would have had, with the reason on the version
    version = client.get_model_version(
        recommender_registered_name(tiny_dataset), outcome.model_version
    )
    assert version.tags["agora.model"] == "ease"
    assert version.tags["agora.requested_model"] == "hybrid"
    assert version.tags["agora.fallback_reason"] == outcome.fallback_reason


def test_tune_and_budget_together_are_refused(tiny_dataset: str, tmp_path: Path) -> None:
    config = RecommenderRunConfig(model="ease")
    with pytest.raises(ValueError, match="alternatives"):
        train_recommender(
            tiny_dataset,
            config,
            tune_trials=2,
            budget_minutes=1.0,
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        )


def _pairs(tmp_path: Path, name: str, per_user: int) -> str:
    rows = [(f"p{user}", f"i{(user + j) % 40}") for user in range(80) for j in range(per_user)]
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id"]).to_csv(path, index=False)
    import_file(path, "interactions", {}, name)
    return name


def test_users_of_two_interactions_train_untuned_and_of_one_are_refused_in_a_sentence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = RecommenderRunConfig(model="ease")
    # Two each: the training split keeps one per user, too little to carve a validation split.
    outcome = train_recommender(
        _pairs(tmp_path, "pairs", 2), config, tracking_uri=uri, budget_minutes=0.1
    )
    assert outcome.model_version and outcome.budgeted is None
    assert "not tuned, trained with the config's parameters" in caplog.text
    with pytest.raises(SplitTooSmallError, match="training part of dataset 'singles' is empty"):
        train_recommender(_pairs(tmp_path, "singles", 1), config, tracking_uri=uri)


def test_a_user_whose_single_pair_was_held_out_is_served_from_it(tmp_path: Path) -> None:
    """Regression: the split holds out a one-pair user's pair whole, so the registered model
    did not know them and served them popular items, that item among them."""
    rows = [(f"u{user}", f"i{(user % 2) * 10 + j}", 1.0) for user in range(30) for j in range(8)]
    rows.append(("solo", "i3", 1.0))  # one film of the first group, nothing else
    path = tmp_path / "solo.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "rating"]).to_csv(path, index=False)
    import_file(path, "interactions", {}, "solo-users")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = RecommenderRunConfig(model="ease", params={"regularization": 5.0})
    outcome = train_recommender("solo-users", config, tracking_uri=uri)

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    uri_of_version = f"models:/{recommender_registered_name('solo-users')}/{outcome.model_version}"
    pyfunc = mlflow.pyfunc.load_model(uri_of_version)
    native = pyfunc.unwrap_python_model().recommender
    assert not native.known_user("solo")
    assert native.catalog.fit_time_history("solo").items == ("i3",)
    answer = pyfunc.predict(pd.DataFrame({"user_id": ["solo"]}), params={"k": 5})
    assert len(answer) == 5 and "i3" not in set(answer["item_id"])
    assert all(int(item[1:]) < 10 for item in answer["item_id"])  # the first group's films
