"""Where a factorisation was fitted is recorded: `use_gpu` is a wish, not a fact."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from models.recommenders import create_recommender, recommender_config
from training.recommender.tracking import log_fit_device
from training.tracking import configure_tracking


def test_an_als_fit_without_cuda_runs_and_is_logged_on_the_cpu(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"user_id": [f"u{i % 6}" for i in range(30)], "item_id": [f"i{i % 5}" for i in range(30)]}
    )
    config = recommender_config("als", {"factors": 4, "iterations": 2, "use_gpu": True})
    model = create_recommender("als", config)
    assert model.fitted_on is None
    model.fit(frame)
    assert model.fitted_on == "cpu"  # this machine has no CUDA: the CPU classes ran
    uri = configure_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        log_fit_device(model)
    params = MlflowClient(tracking_uri=uri).get_run(run.info.run_id).data.params
    assert params == {"fitted_on.model": "cpu"}
