"""Commands started together on a fresh home bring its MLflow store up once, without failing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

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
