"""Hyper-parameter search with optuna on a validation split carved from the TRAINING data only.

The training split is split again with the same per-user stratified splitter under a different
seed (`TuningConfig.seed`), so the test split is never seen while choosing parameters. Each trial
fits on the inner training part and scores the chosen metric at k on the validation part; the
best parameters are then refit on the full training split by the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from data.schemas import USER_ID
from features.splits import require_both_parts, stratified_split
from models.config import ConfigError
from models.recommenders import recommender_config
from training.recommender.config import RecommenderRunConfig, TuningConfig
from training.recommender.evaluate import evaluate_recommender
from training.recommender.search_spaces import SEARCH_SPACES
from training.recommender.steps import fit_recommender

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuningResult:
    """The winning parameters, their validation score, and every trial for the record."""

    best_params: dict[str, Any]
    best_value: float
    metric: str
    trials: pd.DataFrame
    seconds: float


def search_space(model: str) -> Callable[[optuna.Trial, dict[str, Any]], dict[str, Any]]:
    """The trial -> params function of `model`; models without tunable parameters have none."""
    if model not in SEARCH_SPACES:
        raise ConfigError(
            f"model: {model!r} has no search space to tune (tunable: {', '.join(SEARCH_SPACES)})"
        )
    return SEARCH_SPACES[model]


def validated_params(
    run_config: RecommenderRunConfig, tune_trials: int, budget_minutes: float = 0.0
) -> dict[str, Any]:
    """The model's params as its config class accepts them (defaults filled in), or ConfigError."""
    assert run_config.model is not None
    if tune_trials < 0:
        raise ValueError(f"--tune must be >= 0, got {tune_trials}")
    if budget_minutes < 0:
        raise ValueError(f"--budget-minutes must be >= 0, got {budget_minutes}")
    if tune_trials and budget_minutes:
        raise ValueError(
            "--tune (a number of trials) and --budget-minutes (a time budget) are alternatives; "
            "give one"
        )
    if tune_trials or budget_minutes:
        search_space(run_config.model)
    return recommender_config(run_config.model, run_config.params).model_dump(mode="json")


def validation_split(
    train: pd.DataFrame, tuning: TuningConfig, k: int, what: str
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The inner-train and validation parts every tuning run scores on (carved from the
    training split only), and the metric's name; logs what is being tuned."""
    inner_train, validation = stratified_split(train, ratio=tuning.train_ratio, seed=tuning.seed)
    require_both_parts(inner_train, validation, "the training split carved for tuning")
    validation_users = validation[USER_ID].unique()
    if tuning.max_users is not None and len(validation_users) > tuning.max_users:
        # Every trial scores the same seeded sample of users: comparable, and a trial's cost
        # stays that of its fit rather than of ranking every user of a large catalog.
        picked = np.random.default_rng(tuning.seed).choice(
            np.sort(validation_users.astype(str)), size=tuning.max_users, replace=False
        )
        validation = validation[validation[USER_ID].astype(str).isin(picked)]
    metric = f"{tuning.metric}@{k}"
    logger.info(
        "tuning %s on %d inner-train / %d validation rows (%d of %d users), maximising %s",
        what,
        len(inner_train),
        len(validation),
        validation[USER_ID].nunique(),
        len(validation_users),
        metric,
    )
    return inner_train, validation, metric


def tune_recommender(
    model: str,
    base_params: dict[str, Any],
    train: pd.DataFrame,
    items: pd.DataFrame | None,
    tuning: TuningConfig,
    k: int,
    trials: int,
    show_progress: bool = False,
) -> TuningResult:
    """Run `trials` optuna trials (TPE, seeded) and return the best parameters found.

    `base_params` are the starting config; each trial overrides the fields its search space
    suggests. The result's `best_params` is the merged, validated mapping ready to refit.
    """
    if trials <= 0:
        raise ValueError(f"trials must be positive, got {trials}")
    suggest = search_space(model)
    recommender_config(model, base_params)  # fail on a bad base config before any fitting
    inner_train, validation, name = validation_split(train, tuning, k, f"{model}: {trials} trials")

    def objective(trial: optuna.Trial) -> float:
        suggested = suggest(trial, base_params)
        trial.set_user_attr("params", suggested)
        params = {**base_params, **suggested}
        fitted, fit_seconds = fit_recommender(model, params, inner_train, items)
        score = evaluate_recommender(fitted, inner_train, validation, k=k, ks=(k,)).metrics[name]
        trial.set_user_attr("fit_seconds", fit_seconds)
        return score

    started = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=tuning.seed)
    )
    study.optimize(
        objective, n_trials=trials, timeout=tuning.timeout_seconds, show_progress_bar=show_progress
    )
    best = {**base_params, **_suggested(study.best_trial)}
    recommender_config(model, best)
    seconds = time.perf_counter() - started
    logger.info("best %s=%.4f with %s (%.0f s)", name, study.best_value, best, seconds)
    return TuningResult(
        best_params=best,
        best_value=float(study.best_value),
        metric=name,
        trials=study.trials_dataframe(),
        seconds=seconds,
    )


def _suggested(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The config fields a trial set (a search space may derive fields from optuna's params)."""
    return dict(trial.user_attrs["params"])
