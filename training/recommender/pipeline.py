"""`agora train recommender` as a function: validate, split, (tune), fit, evaluate, log, register.

Everything that can be checked without data (run config, the model's params, whether the model
can be tuned) is checked first, so a bad config fails before any loading or training. Tuning is
either `tune_trials` optuna trials or a wall-clock budget (`budget_minutes`, see `budgeted`);
under a budget a hybrid that loses to one of its components on validation is not shipped: that
component is fitted, registered under the same name and tagged with the reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from data import schemas as S
from features.splits import SplitTooSmallError
from models.recommenders import recommender_config
from training.recommender import tracking
from training.recommender.budgeted import (
    BudgetedTuning,
    adaptive_hybrid_components,
    tune_within_budget,
)
from training.recommender.config import RecommenderRunConfig
from training.recommender.evaluate import evaluate_recommender, export_run
from training.recommender.steps import (
    SplitData,
    SplitInBackground,
    fit_recommender,
    peak_memory_mib,
    prepare_split,
)
from training.recommender.tuning import TuningResult, tune_recommender, validated_params
from training.tracking import configure_tracking, tracked_run

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training run produced: where it is logged and how it scored."""

    run_id: str
    model_version: str
    model: str
    params: dict[str, Any]
    metrics: dict[str, float]
    fit_seconds: float
    effective_config: RecommenderRunConfig
    tuning_best: float | None = None
    requested_model: str = ""
    budgeted: BudgetedTuning | None = None
    peak_memory_mib: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)
    text_encoder_note: str | None = None  # what read the item texts, when the model reads any

    @property
    def fallback_reason(self) -> str | None:
        """Why a component ships instead of the requested hybrid (None when it did not)."""
        return None if self.budgeted is None else self.budgeted.fallback_reason


def tuning_provenance(
    dataset: str, run_config: RecommenderRunConfig, tuning: TuningResult, trials: int
) -> dict[str, Any]:
    """How tuned params were found, for the config file that records them."""
    inner = run_config.tuning
    return {
        "method": (
            f"optuna TPE sampler (seed {inner.seed}), {len(tuning.trials)} of {trials} trials "
            f"completed, maximising {tuning.metric} on a validation split carved from the "
            f"training split only (per-user stratified, train_ratio {inner.train_ratio}, "
            f"seed {inner.seed}); the test split played no part in the choice"
        ),
        "dataset": dataset,
        f"best_validation_{tuning.metric}": round(tuning.best_value, 6),
        "tuning_seconds": round(tuning.seconds, 1),
        "date": time.strftime("%Y-%m-%d"),
    }


def budget_provenance(
    dataset: str, run_config: RecommenderRunConfig, tuning: BudgetedTuning
) -> dict[str, Any]:
    """How budget-tuned params were found, for the config file that records them."""
    inner = run_config.tuning
    return {
        "method": (
            f"optuna TPE sampler (seed {inner.seed}) within a {tuning.budget_seconds / 60:.1f}-"
            f"minute budget ({', '.join(f'{s.name}: {s.trials} trials' for s in tuning.stages)}),"
            f" maximising {tuning.metric} on a validation split carved from the training split "
            f"only (train_ratio {inner.train_ratio}, seed {inner.seed})"
        ),
        "dataset": dataset,
        "requested_model": tuning.requested_model,
        "validation": {name: round(value, 6) for name, value in tuning.validation.items()},
        "fallback_reason": tuning.fallback_reason,
        "tuning_seconds": round(tuning.seconds, 1),
        "date": time.strftime("%Y-%m-%d"),
    }


def train_recommender(
    dataset: str,
    run_config: RecommenderRunConfig,
    tune_trials: int = 0,
    export_dir: Path | None = None,
    tracking_uri: str | None = None,
    show_progress: bool = False,
    extra_train: pd.DataFrame | None = None,
    split: SplitData | SplitInBackground | None = None,
    budget_minutes: float = 0.0,
) -> TrainingOutcome:
    """Train `run_config.model` on `dataset`, evaluate on its test split, log and register it.

    `extra_train` (canonical interactions, e.g. events stored since the dataset was exported)
    joins the training split only: the held-out test split, and so the evaluation fingerprint
    the promotion gate compares, stays that of `dataset`. `split` is that split when the caller
    has already prepared it (the retrain re-scores the champion on it), saving a second load, or
    is being prepared (`SplitInBackground`, started by the CLI before it imports this module).
    `budget_minutes` > 0 tunes within that time instead (see `budgeted`); a hybrid whose config
    names no components then starts from `adaptive_hybrid_components`.
    """
    model = run_config.model
    assert model is not None, (
        "bind the run config to a model first (RecommenderRunConfig.for_model)"
    )
    params = validated_params(run_config, tune_trials, budget_minutes)
    configure_tracking(tracking_uri)
    steps = StepClock()
    if isinstance(split, SplitInBackground):
        data = split.result()
    else:
        data = split if split is not None else prepare_split(dataset, run_config.split)
    steps.lap("load_split")
    if isinstance(split, SplitInBackground):
        steps.seconds["load_split"] = split.seconds  # what it cost, not what was left to wait
    if extra_train is not None and len(extra_train):
        data = data.with_extra_train(extra_train)
    if budget_minutes and model == "hybrid" and "components" not in run_config.params:
        n_items = data.train[S.ITEM_ID].nunique()
        components = adaptive_hybrid_components(data.items, n_items)
        params = recommender_config(model, {**params, "components": components}).model_dump(
            mode="json"
        )
    requested, budgeted = model, None
    with tracked_run(tracking.EXPERIMENT, run_name=f"{model}-{dataset}") as run:
        tracking.log_run_inputs(model, run_config.k, data, tune_trials)
        tuning_best, provenance = None, dict(run_config.provenance)
        if budget_minutes:
            budgeted = _tuned_within_budget(model, params, data, run_config, budget_minutes)
        if budgeted is not None:
            model, params, tuning_best = budgeted.model, budgeted.params, budgeted.best_value
            tracking.log_budgeted_tuning(budgeted)
            provenance = budget_provenance(dataset, run_config, budgeted)
        elif tune_trials:
            tuning = tune_recommender(
                model,
                params,
                data.train,
                data.items,
                run_config.tuning,
                run_config.k,
                tune_trials,
                show_progress=show_progress,
            )
            params, tuning_best = tuning.best_params, tuning.best_value
            tracking.log_tuning(tuning, run_config.tuning.model_dump(mode="json"))
            provenance = tuning_provenance(dataset, run_config, tuning, tune_trials)
        tracking.log_model_params(params)
        steps.lap("tuning")
        recommender, fit_seconds = fit_recommender(model, params, data.train, data.items)
        steps.lap("fit")
        tracking.log_fit_device(recommender)
        tracking.log_text_encoder(recommender)
        evaluation = evaluate_recommender(
            recommender,
            data.train,
            data.test,
            k=run_config.k,
            show_progress=show_progress,
            max_users=run_config.evaluation.max_users,
            seed=run_config.evaluation.seed,
        )
        steps.lap("evaluate")
        # The held-out pairs are the user's history too: the served model must not offer them
        # (after the evaluation, which scores exactly them).
        recommender.catalog.add_also_seen(data.test)
        # A held-out hide or report (rated 0) stays out of feeds that ask for seen items too.
        recommender.catalog.add_kept_out(data.test, recommender.config.duplicates)
        # A user whose every pair was held out is unknown to the fit: those pairs are all the
        # served model will know of them (their feed folds them in instead of popular items).
        recommender.catalog.add_held_out_users(data.test, recommender.config.duplicates)
        tracking.log_evaluation(evaluation, model, fit_seconds)
        if tune_trials or budget_minutes:
            provenance["mlflow_run_id"] = run.info.run_id
            provenance[f"test_{tracking.primary_metric(run_config.k)}_after_refit"] = round(
                evaluation.metrics[f"ndcg@{run_config.k}"], 6
            )
        effective = run_config.model_copy(
            update={"model": model, "params": params, "provenance": provenance}
        )
        tracking.log_effective_config(effective.model_dump(mode="json"))
        if export_dir is not None:
            export_run(export_dir, data, evaluation)
        extra_tags = {}
        if budgeted is not None and budgeted.fallback_reason is not None:
            extra_tags = {
                "agora.requested_model": requested,
                "agora.fallback_reason": budgeted.fallback_reason,
            }
        version = tracking.register_recommender(recommender, model, evaluation, data, extra_tags)
        steps.lap("log_register")
        tracking.log_step_seconds(steps.seconds)
        peak = peak_memory_mib()
        tracking.log_peak_memory(peak)
    return TrainingOutcome(
        run_id=run.info.run_id,
        model_version=version,
        model=model,
        params=params,
        metrics=evaluation.metrics,
        fit_seconds=fit_seconds,
        effective_config=effective,
        tuning_best=tuning_best,
        requested_model=requested,
        budgeted=budgeted,
        peak_memory_mib=peak,
        step_seconds=steps.seconds,
        text_encoder_note=tracking.content_encoder_note(recommender),
    )


def _tuned_within_budget(
    model: str,
    params: dict[str, Any],
    data: SplitData,
    run_config: RecommenderRunConfig,
    budget_minutes: float,
) -> BudgetedTuning | None:
    """`tune_within_budget` on the training split, or None (the config's parameters are kept,
    and the log says why) when the training split is too small to carve a validation split
    from: tuning is on by default for new catalogs, and a tiny one must still train."""
    try:
        return tune_within_budget(
            model,
            params,
            data.train,
            data.items,
            run_config.tuning,
            run_config.k,
            budget_minutes * 60.0,
        )
    except SplitTooSmallError as error:
        logger.warning("not tuned, trained with the config's parameters: %s", error)
        return None


class StepClock:
    """Wall-clock seconds per pipeline step, so a run says where its time went (MLflow
    `seconds_<step>`, and the command's output): the fit is the cost a user expects to pay."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        """Charge the time since the previous lap to `step`."""
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._last
        self._last = now
