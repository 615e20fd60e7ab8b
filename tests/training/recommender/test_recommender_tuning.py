"""Tuning never touches the test split, and every search space yields valid model configs."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

from features.splits import stratified_split
from models.recommenders import recommender_config
from training.recommender import tuning
from training.recommender.config import MODEL_NAMES, TuningConfig
from training.recommender.search_spaces import SEARCH_SPACES


def _two_taste_groups() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for user in range(30):
        group = range(0, 12) if user < 15 else range(12, 24)
        for item in rng.choice(list(group), size=8, replace=False):
            rows.append((f"u{user}", f"i{item}", 1.0))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"], frame["item_id"], strict=True))


def test_tuning_fits_and_scores_on_the_training_split_only(monkeypatch: pytest.MonkeyPatch) -> None:
    train, test = stratified_split(_two_taste_groups(), ratio=0.75, seed=42)
    fitted_on: list[pd.DataFrame] = []
    scored_on: list[pd.DataFrame] = []
    real_fit, real_evaluate = tuning.fit_recommender, tuning.evaluate_recommender

    def recording_fit(name, params, frame, items):
        fitted_on.append(frame)
        return real_fit(name, params, frame, items)

    def recording_evaluate(model, inner_train, validation, **kwargs):
        scored_on.append(validation)
        return real_evaluate(model, inner_train, validation, **kwargs)

    monkeypatch.setattr(tuning, "fit_recommender", recording_fit)
    monkeypatch.setattr(tuning, "evaluate_recommender", recording_evaluate)
    result = tuning.tune_recommender("itemknn", {}, train, None, TuningConfig(), k=5, trials=4)

    assert len(fitted_on) == len(scored_on) == 4
    train_pairs, test_pairs = _pairs(train), _pairs(test)
    for fit_frame, validation in zip(fitted_on, scored_on, strict=True):
        assert _pairs(fit_frame) | _pairs(validation) == train_pairs
        assert not _pairs(fit_frame) & _pairs(validation)
        assert not (_pairs(fit_frame) | _pairs(validation)) & test_pairs
    assert result.metric == "ndcg@5"
    assert result.best_value == pytest.approx(result.trials["value"].max())
    recommender_config("itemknn", result.best_params)  # refit-ready


def test_tuning_is_reproducible_for_a_seed() -> None:
    train, _ = stratified_split(_two_taste_groups(), ratio=0.75, seed=42)
    first = tuning.tune_recommender("itemknn", {}, train, None, TuningConfig(seed=5), 5, 3)
    again = tuning.tune_recommender("itemknn", {}, train, None, TuningConfig(seed=5), 5, 3)
    assert first.best_params == again.best_params
    assert first.best_value == again.best_value


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_every_search_space_suggests_valid_configs(model: str) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(8):
        trial = study.ask()
        params = SEARCH_SPACES[model](trial, {})
        recommender_config(model, params)  # raises ConfigError naming a bad field
        study.tell(trial, 0.0)
