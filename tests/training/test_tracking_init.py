"""Commands started together on a fresh home bring its MLflow store up once, without failing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient


def _first_command(uri: str, name: str) -> None:
    from training.tracking import configure_tracking

    configure_tracking(uri)
    MlflowClient().create_experiment(name)


def test_processes_starting_together_on_a_fresh_store_all_succeed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_first_command, args=(uri, f"experiment-{n}")) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    names = {e.name for e in MlflowClient(tracking_uri=uri).search_experiments()}
    assert {f"experiment-{n}" for n in range(4)} <= names


def test_a_registry_name_is_checked_before_training(tmp_path: Path) -> None:
    from training.tracking import check_registry_name, configure_tracking

    configure_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = MlflowClient()
    client.create_registered_model("agora-recommender")
    tags = {"agora.family": "recommender"}
    client.create_model_version("agora-recommender", (tmp_path / "m").as_uri(), tags=tags)
    check_registry_name("agora-recommender", "recommender")
    check_registry_name("agora-triage-category-mine", "triage")
    with pytest.raises(ValueError, match="holds recommender models"):
        check_registry_name("agora-recommender", "triage")
    for bad in ("bad name/with slash", "a:b", " "):
        with pytest.raises(ValueError, match="cannot be a registered model name"):
            check_registry_name(bad, "triage")
