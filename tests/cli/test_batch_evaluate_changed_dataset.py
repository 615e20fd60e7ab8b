"""`agora batch evaluate` refuses a dataset whose test split is not the one the version was
evaluated on at training.

Regression (a scale-out trial): after `agora data synth --name scale-2m --seed 1` replaced the
dataset a champion was trained on, `agora batch evaluate --dataset scale-2m` scored it on the new
data's "test split" (NDCG@10 0.0000 beside the 0.1204 it was registered with) without a word.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import batch as batch_cli
from cli.champions import ChampionRun
from cli.main import app
from features.splits import stratified_split
from models.recommenders import create_recommender
from training.recommender import steps
from training.recommender.config import SplitConfig


def _interactions(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 40, 800)
    items = (users % 4) * 10 + rng.integers(0, 10, 800)  # four taste groups
    return pd.DataFrame(
        {"user_id": [f"u{u}" for u in users], "item_id": [f"i{i}" for i in items], "rating": 1.0}
    ).drop_duplicates(["user_id", "item_id"])


@pytest.fixture
def champion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An ALS trained on seed 0's data; returns its test split's fingerprint as registered."""
    trained = _interactions(seed=0)
    train, _ = stratified_split(trained, ratio=0.75, seed=42)
    model = create_recommender("als", {"factors": 4, "iterations": 3, "use_gpu": False})
    folder = model.fit(train).save(tmp_path / "model")
    monkeypatch.setattr(steps, "load_dataset", lambda _name, **_: (trained, None))
    registered = steps.prepare_split("tiny", SplitConfig(train_ratio=0.75, seed=42)).fingerprint()
    facts = ChampionRun(0.75, 42, {}, registered)
    monkeypatch.setattr(batch_cli, "champion_run", lambda _n, _v, _uri=None: facts)
    monkeypatch.setattr(batch_cli, "recommender_champion", lambda _n, _u=None: ("1", "x", folder))
    return registered


def test_the_split_the_version_was_evaluated_on_is_scored(champion: str) -> None:
    result = CliRunner().invoke(app, ["batch", "evaluate", "--dataset", "tiny", "--k", "5"])
    assert result.exit_code == 0, result.output
    assert "users scored:" in result.output


def test_a_dataset_replaced_since_training_is_refused(
    champion: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    replaced = _interactions(seed=1)  # the same name, other data
    monkeypatch.setattr(steps, "load_dataset", lambda _name, **_: (replaced, None))
    result = CliRunner().invoke(app, ["batch", "evaluate", "--dataset", "tiny", "--k", "5"])
    assert result.exit_code == 2, result.output
    assert "tiny's test split is not the one" in result.output
    assert "v1 was evaluated on at training" in result.output
    assert "users scored" not in result.output
