"""MLflow logging of a recommender run: params, metrics, lineage, plots, the registered model.

Metric names in MLflow cannot hold '@', so 'ndcg@10' is logged as 'ndcg_at_10'; the curves over
cut-offs are logged as '<metric>_by_k' with the cut-off as the step, so MLflow's own charts plot
metric against k. The registered version carries the evaluation as tags (see
`training.promotion.evaluation_tags`) so a promotion can compare it with the champion on the same
held-out data. It is registered under its dataset's name (`agora-recommender` for the default
dataset, `agora-recommender-<dataset>` otherwise), so the gate compares like with like.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import yaml
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from data.schemas import ITEM_ID, USER_ID
from models.served_models import RECOMMENDER_MODEL, recommender_registered_name
from training.promotion import evaluation_tags
from training.recommender.budgeted import BudgetedTuning
from training.recommender.config import RecommenderRunConfig
from training.recommender.evaluate import Evaluation, metrics_by_k_frame
from training.recommender.plots import plot_metrics_by_k, plot_popularity_bias
from training.recommender.steps import SplitData
from training.recommender.tuning import TuningResult
from training.tracking import (
    log_and_register_model,
    log_lineage,
    metric_key,
    run_tags,
)

logger = logging.getLogger(__name__)

FAMILY = "recommender"
EXPERIMENT = "agora-recommender"
REGISTERED_MODEL = RECOMMENDER_MODEL  # the default dataset's (recommender_registered_name)
PYFUNC_CODE = Path(__file__).resolve().parent.parent / "pyfunc_recommender.py"
# Where a run logs the config that reproduces it (retrain trains its candidate from it).
RUN_CONFIG_ARTIFACT = "config/run_config.yaml"


def mlflow_metrics(evaluation: Evaluation) -> dict[str, float]:
    """The metrics at the evaluation cut-off, under MLflow-safe names."""
    return {metric_key(name): value for name, value in evaluation.metrics.items()}


def primary_metric(k: int) -> str:
    return metric_key(f"ndcg@{k}")


def log_run_inputs(model: str, k: int, data: SplitData, tune_trials: int) -> None:
    """Run settings and data lineage, logged before any fitting so a failed run still shows them."""
    mlflow.log_params({"model": model, "k": k, "tune_trials": tune_trials})
    log_lineage(data.dataset, **data.lineage())
    mlflow.set_tags(run_tags(FAMILY, model))


def log_model_params(params: dict[str, Any]) -> None:
    """The model's hyper-parameters as fitted (after tuning, when there was any)."""
    mlflow.log_params({f"params.{key}": value for key, value in params.items()})


def log_fit_device(recommender: Any) -> None:
    """Where each factorisation was fitted ("cpu"/"gpu"): `params.use_gpu` is only a wish, and
    implicit's GPU classes run only with CUDA and RMM present. A hybrid reports its components."""
    devices = {
        name: getattr(component, "fitted_on", None)
        for name, component in [("model", recommender), *_components(recommender)]
    }
    found = {name: device for name, device in devices.items() if device is not None}
    if found:
        mlflow.log_params({f"fitted_on.{name}": device for name, device in found.items()})


def _content_model(recommender: Any) -> Any | None:
    """The model that reads item texts: `recommender` itself or a hybrid's content component."""
    for _, model in [("model", recommender), *_components(recommender)]:
        if getattr(model, "text_encoder_name", None) is not None:
            return model
    return None


def content_encoder_note(recommender: Any) -> str | None:
    """What read the item texts of the model (or of a hybrid's content component) and why:
    the catalog's script decides it at fit (`models.recommenders.embedding`)."""
    note = getattr(_content_model(recommender), "text_encoder_note", None)
    return None if note is None else str(note)


def log_text_encoder(recommender: Any) -> None:
    """The encoder that reads item texts and text queries, as a parameter (`text_encoder`), and
    why it was chosen, as a tag: a Chinese catalog is read by n-grams, not the configured
    sentence encoder, and a run must say so."""
    model = _content_model(recommender)
    if model is not None:
        mlflow.log_param("text_encoder", model.text_encoder_name)
        mlflow.set_tag("agora.text_encoder_choice", content_encoder_note(model) or "")


def _components(recommender: Any) -> list[tuple[str, Any]]:
    components = getattr(recommender, "components", None) or []
    return [(f"component_{i}", component) for i, component in enumerate(components)]


def log_tuning(tuning: TuningResult, validation: dict[str, Any]) -> None:
    """The tuning outcome: chosen params, best validation score, the trials table."""
    mlflow.log_params({f"tuning.{key}": value for key, value in validation.items()})
    mlflow.log_metric(f"tuning_best_{metric_key(tuning.metric)}", tuning.best_value)
    mlflow.log_metric("tune_seconds", tuning.seconds)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trials.csv"
        tuning.trials.to_csv(path, index=False)
        mlflow.log_artifact(str(path), artifact_path="tuning")


def log_budgeted_tuning(tuning: BudgetedTuning) -> None:
    """The budgeted search: budget, each stage's best, every candidate's validation score, what
    ships and (when the hybrid lost to a component) why, plus the trials table."""
    mlflow.log_params(
        {
            "budget_minutes": round(tuning.budget_seconds / 60, 3),
            "requested_model": tuning.requested_model,
            "served_model": tuning.model,
        }
    )
    metric = metric_key(tuning.metric)
    mlflow.log_metric(f"tuning_best_{metric}", tuning.best_value)
    mlflow.log_metric("tune_seconds", tuning.seconds)
    for candidate, value in tuning.validation.items():
        mlflow.log_metric(f"validation_{candidate}_{metric}", value)
    for stage in tuning.stages:
        mlflow.log_metric(f"tuning_trials_{stage.name}", stage.trials)
    if tuning.fallback_reason is not None:
        mlflow.set_tag("agora.fallback_reason", tuning.fallback_reason)
    mlflow.log_text("\n".join(tuning.summary()) + "\n", "tuning/summary.txt")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trials.csv"
        tuning.trials.to_csv(path, index=False)
        mlflow.log_artifact(str(path), artifact_path="tuning")


def log_peak_memory(peak_mib: float) -> None:
    """The process's peak resident memory so far (fit and evaluation included)."""
    mlflow.log_metric("peak_memory_mib", peak_mib)


def log_evaluation(evaluation: Evaluation, model: str, fit_seconds: float) -> None:
    """Metrics at k, curves over k, timings, and the two plots."""
    mlflow.log_metrics(mlflow_metrics(evaluation))
    low, high = evaluation.ndcg_ci95
    mlflow.log_metrics(
        {
            "fit_seconds": fit_seconds,
            "eval_seconds": evaluation.seconds,
            "eval_users_total": float(evaluation.users_total),
            f"{primary_metric(evaluation.k)}_ci95_low": low,
            f"{primary_metric(evaluation.k)}_ci95_high": high,
        }
    )
    mlflow.log_param("eval_sampled", evaluation.sampled)
    for cutoff, values in evaluation.metrics_by_k.items():
        for name, value in values.items():
            if "@" in name:
                mlflow.log_metric(f"{name.split('@')[0]}_by_k", value, step=cutoff)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        plot_metrics_by_k(evaluation, base / "metrics_by_k.png", f"{model}: metrics by cut-off k")
        plot_popularity_bias(
            evaluation, base / "popularity_bias.png", f"{model}: popularity of recommended items"
        )
        metrics_by_k_frame(evaluation).to_csv(base / "metrics_by_k.csv", index=False)
        mlflow.log_artifacts(str(base), artifact_path="evaluation")


def log_step_seconds(seconds: dict[str, float]) -> None:
    """Where the run's wall-clock time went, step by step (`seconds_<step>`)."""
    mlflow.log_metrics({f"seconds_{step}": value for step, value in seconds.items()})


def log_effective_config(run_config: dict[str, Any]) -> None:
    """The config that reproduces this run (tuned params included), as a loadable YAML file."""
    mlflow.log_text(yaml.safe_dump(run_config, sort_keys=False), RUN_CONFIG_ARTIFACT)


def logged_run_config(run_id: str) -> RecommenderRunConfig | None:
    """The run config run `run_id` logged (`log_effective_config`), or None when it logged
    none (runs from before configs were logged)."""
    with tempfile.TemporaryDirectory(prefix="agora-run-config-") as folder:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=RUN_CONFIG_ARTIFACT, dst_path=folder
            )
        except MlflowException:
            return None
        return RecommenderRunConfig.from_yaml(path)


def register_recommender(
    recommender: Any,
    model: str,
    evaluation: Evaluation,
    data: SplitData,
    extra_tags: dict[str, str] | None = None,
) -> str:
    """Save the fitted model natively, log it as a pyfunc, register it; return the version.

    `extra_tags` go on the version too (e.g. why a component ships instead of the hybrid)."""
    metrics = mlflow_metrics(evaluation)
    tags = {
        **evaluation_tags(primary_metric(evaluation.k), metrics, data.fingerprint()),
        **run_tags(FAMILY, model, dataset=data.dataset),
        **(extra_tags or {}),
    }
    mlflow.set_tags(tags)  # on the run too, so runs can be compared without the registry
    # Three training users: from the first rows, not a pass over millions of ids.
    first = pd.unique(data.train[USER_ID].head(1000).to_numpy())[:3]
    example_users = pd.DataFrame({USER_ID: [str(u) for u in first]})
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        # The output's integer `rank` column cannot be missing: MLflow's hint does not apply.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        # The pyfunc's schema is stated: inferring it, MLflow loads the logged model back from
        # disk and predicts (0.6 s at 20M interactions). One row of its output (the pyfunc's).
        output = pd.DataFrame({USER_ID: ["u"], "rank": [1], ITEM_ID: ["i"], "score": [0.5]})
        signature = infer_signature(example_users, output, params={"k": evaluation.k})
        native = Path(folder) / "native"
        recommender.save(native)
        return log_and_register_model(
            native,
            PYFUNC_CODE,
            recommender_registered_name(data.dataset),
            input_example=(example_users, {"k": evaluation.k}),
            tags=tags,
            signature=signature,
        )
