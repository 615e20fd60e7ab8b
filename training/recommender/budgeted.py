"""Tuning within a wall-clock budget, for a dataset no committed config was tuned on.

Committed configs (`configs/recommender/*.tuned.yaml`) belong to the dataset they were tuned on;
a new catalog needs its own choices. Everything here is chosen on a validation split carved from
the TRAINING split only (`TuningConfig.seed`); the test split plays no part.

A single model is one time-boxed optuna study. A hybrid is tuned in stages, because its cost is
in the component fits and its fusion is cheap once they exist:

1. components without a search space (the content model) are fitted once, first: their one fit
   (the encoding of every item text) takes what it takes;
2. each tunable collaborative component gets an equal share of `COMPONENT_SHARE` of the time left
   (time a component leaves unused passes to the next)
   for its own key hyper-parameters (EASE's λ and dropout, ALS's factors, regularisation,
   iterations and weighting), its current config as the first trial; the best fit of each is kept;
3. the fusion (weights, fusion kind, rrf_k) is searched over those kept fits for the rest of
   the budget, without refitting anything (`HybridRecommender.from_fitted`); the component that
   scored best alone comes first, the anchor of weight 1 the others are weighed against.
   What stages 2 and 3 share is never less than `MIN_SHARE_LEFT` of the budget: before, the
   content model was fitted after the tuned components, and a slow encoding (204 s of a 180 s
   budget on a 9,742-item catalog on a busy machine) left the fusion one trial.

The hybrid ships only if its best validation score is at least its best component's alone; if
not, that component (with its tuned config) ships instead and `fallback_reason` says why. optuna
checks its timeout between trials, so a run can exceed the budget by at most one trial per stage,
plus the one fit of each component fitted once (the content model's encoding of every item text,
which on a busy machine alone may take longer than a small budget); the summary then says the
budget was exceeded and each such fit's seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
import pandas as pd

from data.schemas import GENRES, ITEM_TEXT, TITLE
from models.recommenders import recommender_config
from models.recommenders.ease import EASEConfig
from models.recommenders.hybrid import HybridRecommender
from training.recommender.config import TuningConfig
from training.recommender.evaluate import evaluate_recommender
from training.recommender.search_spaces import SEARCH_SPACES
from training.recommender.steps import fit_recommender
from training.recommender.tuning import validation_split

logger = logging.getLogger(__name__)

COMPONENT_SHARE = 0.6  # of the budget, split equally between the tunable components
# What the tuned components and the fusion share is never less than this part of the budget,
# however long the components fitted once took (the run then says it exceeded the budget).
MIN_SHARE_LEFT = 0.5
MAX_TRIALS = 40  # per study: past this, a small space is covered and more trials overfit validation
MAX_FUSION_TRIALS = 120  # fusion trials are cheap (no fitting) and its space is larger
CONTENT_WEIGHT = 0.1  # the content model's starting fusion weight (tuning may change it)
# optuna starts a first trial under any positive timeout: a study given this runs exactly one
_ONE_TRIAL = 1e-3
# Past this share of the budget the summary says the budget was exceeded, not "within" it.
OVER_BUDGET = 1.1


@dataclass(frozen=True)
class StageRecord:
    """One stage of the search: what was tuned, how many trials ran, the best it found."""

    name: str
    trials: int
    best_value: float
    seconds: float
    best_params: dict[str, Any]


@dataclass(frozen=True)
class BudgetedTuning:
    """What to ship (`model`, `params`), the validation scores behind the choice, and the record."""

    requested_model: str
    model: str
    params: dict[str, Any]
    metric: str
    best_value: float
    validation: dict[str, float]  # candidate (hybrid, each component) -> best validation score
    stages: list[StageRecord]
    trials: pd.DataFrame
    seconds: float
    budget_seconds: float
    fallback_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Lines for the CLI and the log: what was tried, within what time, what ships and why."""
        over = self.seconds > self.budget_seconds * OVER_BUDGET
        within = "with a budget of" if over else "within"
        lines = [
            f"tuned {within} {self.budget_seconds / 60:.1f} min on a validation split of the "
            f"training data ({self.seconds:.0f} s used"
            + (": a fit or trial under way is never cut short)" if over else ")")
        ]
        for stage in self.stages:
            lines.append(
                f"  {stage.name}: {stage.trials} trial(s), best validation {self.metric} "
                f"{stage.best_value:.4f} ({stage.seconds:.0f} s)"
            )
        lines.extend(f"  {note}" for note in self.notes)
        if self.fallback_reason is not None:
            lines.append(
                f"serving {self.model} instead of {self.requested_model}: {self.fallback_reason}"
            )
        return lines


def adaptive_hybrid_components(
    items: pd.DataFrame | None, n_items: int = 0
) -> list[dict[str, Any]]:
    """The hybrid a new catalog starts from: EASE + ALS, plus the content model when items have
    text to embed (it also serves cold items then). EASE is left out, with a warning, when the
    catalog's `n_items` exceed what its items x items inverse is allowed (`max_items`)."""
    components: list[dict[str, Any]] = [
        {"type": "ease", "weight": 1.0, "config": {}},
        {"type": "als", "weight": 1.0, "config": {"use_gpu": False}},
    ]
    ease_limit = EASEConfig().max_items
    if n_items > ease_limit:
        logger.warning(
            "hybrid without EASE: %d items exceed its max_items %d; fusing the models that scale",
            n_items,
            ease_limit,
        )
        components = components[1:]
    if items is not None and any(
        column in items.columns and (items[column].fillna("").astype(str).str.strip() != "").any()
        for column in (TITLE, GENRES, ITEM_TEXT)
    ):
        components.append({"type": "embedding", "weight": CONTENT_WEIGHT, "config": {}})
    return components


@dataclass
class _Study:
    """One model's time-boxed search; keeps the best fitted model so it need not be refitted."""

    model: str
    base_params: dict[str, Any]
    inner_train: pd.DataFrame
    validation: pd.DataFrame
    items: pd.DataFrame | None
    k: int
    metric: str
    best_model: Any = None
    best_value: float = float("-inf")

    def score(self, params: dict[str, Any]) -> tuple[float, Any]:
        fitted, _ = fit_recommender(self.model, params, self.inner_train, self.items)
        value = evaluate_recommender(
            fitted, self.inner_train, self.validation, k=self.k, ks=(self.k,)
        ).metrics[self.metric]
        return value, fitted

    def run(self, seed: int, timeout: float) -> tuple[StageRecord, pd.DataFrame]:
        started = time.perf_counter()
        suggest = SEARCH_SPACES[self.model]

        def objective(trial: optuna.Trial) -> float:
            # the first trial is the base config as given: the search can only improve on it
            suggested = suggest(trial, self.base_params) if trial.number else {}
            trial.set_user_attr("params", suggested)
            value, fitted = self.score({**self.base_params, **suggested})
            if value > self.best_value:
                self.best_value, self.best_model = value, fitted
            return value

        study = _run_study(objective, seed, timeout)
        best = {**self.base_params, **study.best_trial.user_attrs["params"]}
        record = StageRecord(
            self.model, len(study.trials), study.best_value, time.perf_counter() - started, best
        )
        return record, _trials_frame(study, self.model)


def tune_within_budget(
    model: str,
    base_params: dict[str, Any],
    train: pd.DataFrame,
    items: pd.DataFrame | None,
    tuning: TuningConfig,
    k: int,
    budget_seconds: float,
) -> BudgetedTuning:
    """Tune `model` on a validation split of `train` within `budget_seconds` (see module doc)."""
    if budget_seconds <= 0:
        raise ValueError(f"the tuning budget must be positive, got {budget_seconds} s")
    if model not in SEARCH_SPACES:
        raise ValueError(f"{model!r} has no search space to tune")
    recommender_config(model, base_params)  # a bad base config fails before any fitting
    started = time.perf_counter()
    inner_train, validation, metric = validation_split(
        train, tuning, k, f"{model} within {budget_seconds:.0f} s"
    )

    def study(name: str, params: dict[str, Any]) -> _Study:
        return _Study(name, params, inner_train, validation, items, k, metric)

    if model != "hybrid":
        record, trials = study(model, base_params).run(tuning.seed, budget_seconds)
        return BudgetedTuning(
            requested_model=model,
            model=model,
            params=record.best_params,
            metric=metric,
            best_value=record.best_value,
            validation={model: record.best_value},
            stages=[record],
            trials=trials,
            seconds=time.perf_counter() - started,
            budget_seconds=budget_seconds,
        )
    return _tune_hybrid(base_params, study, tuning.seed, budget_seconds, started, metric)


def _tune_hybrid(
    base_params: dict[str, Any],
    study: Callable[[str, dict[str, Any]], _Study],
    seed: int,
    budget_seconds: float,
    started: float,
    metric: str,
) -> BudgetedTuning:
    """Stages 1-3 of the module doc, then the fallback rule."""
    specs = [dict(spec) for spec in base_params["components"]]
    tunable = [i for i, spec in enumerate(specs) if spec["type"] in _COMPONENT_SPACES]
    stages, frames, notes = [], [], []
    fitted: list[Any] = [None] * len(specs)
    scores: list[float] = [float("-inf")] * len(specs)
    # The components fitted once go first: their one fit (the content model's encoding of every
    # item text) takes what it takes, and the tuned components and the fusion then share what is
    # left. Fitted last, a slow encoding used to leave the fusion a single trial.
    for position in (i for i in range(len(specs)) if i not in tunable):
        component = study(specs[position]["type"], _base_config(specs[position]))
        fit_started = time.perf_counter()
        value, fitted[position] = component.score(component.base_params)
        scores[position] = value
        notes.append(
            f"{specs[position]['type']}: fitted once (not tuned, "
            f"{time.perf_counter() - fit_started:.0f} s), validation {metric} {value:.4f}"
        )
    # never less than a floor, so that a budget the one-off fits used up still tunes a little
    left = max(budget_seconds - (time.perf_counter() - started), budget_seconds * MIN_SHARE_LEFT)
    components_until = time.perf_counter() + left * COMPONENT_SHARE
    for count, position in enumerate(tunable):
        component = study(specs[position]["type"], _base_config(specs[position]))
        share = max(components_until - time.perf_counter(), _ONE_TRIAL) / (len(tunable) - count)
        record, trials = component.run(seed, share)
        stages.append(record)
        frames.append(trials)
        specs[position]["config"] = record.best_params
        scores[position], fitted[position] = component.best_value, component.best_model
    validation: dict[str, float] = {}
    for position, spec in enumerate(specs):
        key = spec["type"] if spec["type"] not in validation else f"{spec['type']}-{position}"
        validation[key] = scores[position]
    # the best single component anchors the fusion (weight 1, first); the others are weighed
    # against it, so the search can come arbitrarily close to that component alone
    order = sorted(range(len(specs)), key=lambda i: -list(validation.values())[i])
    if specs[order[0]]["weight"] > 0:
        specs, fitted = [specs[i] for i in order], [fitted[i] for i in order]
        validation = {list(validation)[i]: list(validation.values())[i] for i in order}
    fusion_params = {**base_params, "components": specs}
    remaining = max(budget_seconds - (time.perf_counter() - started), left * (1 - COMPONENT_SHARE))
    record, trials = _tune_fusion(fusion_params, study, fitted, seed, remaining)
    stages.append(record)
    frames.append(trials)
    validation["hybrid"] = record.best_value
    best_component = max((name for name in validation if name != "hybrid"), key=validation.get)
    model, params, fallback = "hybrid", record.best_params, None
    if record.best_value < validation[best_component]:
        position = list(validation).index(best_component)
        model, params = specs[position]["type"], dict(specs[position]["config"])
        fallback = fallback_reason(
            metric, record.best_value, model, validation[best_component], specs
        )
        logger.warning("hybrid not shipped: %s", fallback)
    return BudgetedTuning(
        requested_model="hybrid",
        model=model,
        params=params,
        metric=metric,
        best_value=max(validation.values()),
        validation=validation,
        stages=stages,
        trials=pd.concat(frames, ignore_index=True),
        seconds=time.perf_counter() - started,
        budget_seconds=budget_seconds,
        fallback_reason=fallback,
        notes=notes,
    )


def fallback_reason(
    metric: str, hybrid: float, component: str, value: float, specs: list[dict[str, Any]]
) -> str:
    """Why `component` ships instead of the hybrid of `specs`, and what that costs."""
    digits = 4 if f"{hybrid:.4f}" != f"{value:.4f}" else 6  # never "0.0081, below 0.0081"
    reason = (
        f"the best hybrid scored validation {metric} {hybrid:.{digits}f}, below {component} "
        f"alone ({value:.{digits}f})"
    )
    if component != "embedding" and any(spec["type"] == "embedding" for spec in specs):
        # A new user found their fresh posts unserved (POST /items stored them, fresh_now 0)
        # and text queries answered by popularity, with no word of why.
        reason += (
            f"; {component} reads no item text, so items published after training (POST "
            "/items) and text queries get no content answer (--budget-minutes 0 ships the "
            "untuned hybrid, content included)"
        )
    return reason


def _tune_fusion(
    base_params: dict[str, Any],
    study: Callable[[str, dict[str, Any]], _Study],
    fitted: list[Any],
    seed: int,
    timeout: float,
) -> tuple[StageRecord, pd.DataFrame]:
    """Search the fusion over the kept component fits; the given weights and rrf are tried first."""
    started = time.perf_counter()
    scorer = study("hybrid", base_params)
    suggest = SEARCH_SPACES["hybrid"]

    def objective(trial: optuna.Trial) -> float:
        suggested = suggest(trial, base_params) if trial.number else {}
        trial.set_user_attr("params", suggested)
        config = recommender_config("hybrid", {**base_params, **suggested})
        hybrid = HybridRecommender.from_fitted(config, fitted)
        return evaluate_recommender(
            hybrid, scorer.inner_train, scorer.validation, k=scorer.k, ks=(scorer.k,)
        ).metrics[scorer.metric]

    study_ = _run_study(objective, seed, timeout, MAX_FUSION_TRIALS)
    best = {**base_params, **study_.best_trial.user_attrs["params"]}
    record = StageRecord(
        "fusion", len(study_.trials), study_.best_value, time.perf_counter() - started, best
    )
    return record, _trials_frame(study_, "fusion")


def _base_config(spec: dict[str, Any]) -> dict[str, Any]:
    """A component's config as given, with its defaults filled in and checked."""
    return recommender_config(spec["type"], spec["config"]).model_dump(mode="json")


def _run_study(
    objective: Callable[[optuna.Trial], float],
    seed: int,
    timeout: float,
    n_trials: int = MAX_TRIALS,
) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials, timeout=timeout)
    return study


def _trials_frame(study: optuna.Study, stage: str) -> pd.DataFrame:
    frame = study.trials_dataframe()
    frame.insert(0, "stage", stage)
    return frame


# The components whose hyper-parameters are searched; the content model has nothing that pays
# for its encoding time within a small budget.
_COMPONENT_SPACES = ("ease", "als", "bpr", "itemknn")
