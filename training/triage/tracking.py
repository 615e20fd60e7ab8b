"""MLflow logging of a triage run: lineage, params, metrics, figures, the registered model.

What both families log the same way (lineage, tags, flat params, model registration) is in
`training.tracking`; the registered version carries its evaluation as tags (see
`training.promotion.evaluation_tags`) for the promotion gate, and its task, language, dataset and
classes for the serving-slot check (`training.slots`).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from features.text_splits import TextSplit
from training.promotion import evaluation_tags
from training.slots import classes_tag
from training.tracking import (
    flatten_params,
    log_and_register_model,
    log_lineage,
    run_tags,
    tracked_run,
)
from training.triage.config import TriageConfig
from training.triage.metrics import ClassificationReport, confusion, reliability_bins
from training.triage.pipeline import EXPERIMENT, FAMILY, TrainedTriageModel
from training.triage.plots import confusion_matrix_figure, reliability_figure

logger = logging.getLogger(__name__)

PYFUNC_CODE = Path(__file__).resolve().parent.parent / "pyfunc_triage.py"
_INPUT_EXAMPLE_ROWS = 3


def model_params(trained: TrainedTriageModel, config: TriageConfig) -> dict[str, Any]:
    """The hyper-parameters that shaped this model: the text handling, its own section, and its
    members' sections for an ensemble."""
    sections = ["text", trained.model]
    if trained.model == "ensemble":
        sections += list(config.ensemble.members)
    dumped = config.model_dump(mode="json")
    params: dict[str, Any] = {"model": trained.model}
    for section in sections:
        params.update(flatten_params(dumped[section], f"{section}."))
    runtimes = [
        _runtime_name(m) for m in getattr(trained.classifier, "members", [trained.classifier])
    ]
    if any(runtimes):
        # What serves each member: "onnx-int8", "onnx-fp32", "torch" (fine-tunes), "" (others).
        params["serving_runtime"] = "|".join(runtimes)
    return params


def _runtime_name(classifier: Any) -> str:
    runtime = getattr(classifier, "runtime", None)
    if not runtime:
        return ""
    return "-".join(str(runtime[key]) for key in ("engine", "precision") if key in runtime)


def test_fingerprint(split: TextSplit) -> str:
    """sha256 of the test texts and labels: equal only for the same evaluation data."""
    digest = hashlib.sha256(f"{split.dataset}/{split.task}/{split.language}".encode())
    for text, label in zip(split.test_texts, split.test_labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def evaluation_scores(report: ClassificationReport) -> dict[str, float]:
    """The figures a registered version records (`agora.metric.<name>`): the gate compares the
    primary (macro-F1) and guards the others; a re-scored champion is given the same names."""
    return {"macro_f1": report.macro_f1, "accuracy": report.accuracy, "ece": report.ece}


def log_triage_run(
    trained: TrainedTriageModel,
    config: TriageConfig,
    artifact: Path,
    registered_name: str,
    extra_metrics: dict[str, float] | None = None,
) -> tuple[str, str]:
    """Log a run for `trained` (and `extra_metrics`) and register `artifact` under
    `registered_name`."""
    split, report, classifier = trained.split, trained.report, trained.classifier
    scores = evaluation_scores(report)
    tags = {
        # What the promotion gate compares: macro-F1 on exactly this split's test part.
        **evaluation_tags("macro_f1", scores, test_fingerprint(split)),
        **run_tags(
            FAMILY, trained.model, task=split.task, language=split.language, dataset=split.dataset
        ),
    }
    run_name = f"{trained.model}-{split.dataset}-{split.task}"
    with tracked_run(EXPERIMENT, run_name, tags) as run:
        log_lineage(split.dataset, **split.lineage)
        mlflow.log_params(model_params(trained, config))
        mlflow.log_params(
            {
                "temperature": round(classifier.temperature_, 6),
                "class_bias": "none"
                if classifier.class_bias_ is None
                else "|".join(f"{b:.4f}" for b in classifier.class_bias_),
                "classes": "|".join(classifier.classes_),
            }
        )
        mlflow.log_metrics(report.as_metrics("test"))
        mlflow.log_metrics(
            {
                "fit_seconds": trained.fit_seconds,
                "test_texts_per_second": len(split.test_texts) / max(trained.predict_seconds, 1e-9),
            }
        )
        if extra_metrics:
            mlflow.log_metrics(extra_metrics)
        _log_training_history(classifier)
        mlflow.log_dict(
            {"per_class_f1": report.per_class_f1, "n": report.n, "classes": classifier.classes_},
            "evaluation/report.json",
        )
        _log_figures(trained)
        example = pd.DataFrame({"text": split.test_texts[:_INPUT_EXAMPLE_ROWS]})
        version = log_and_register_model(
            artifact,
            PYFUNC_CODE,
            registered_name,
            example,
            # The classes on the version too: promotion to a serving slot checks them.
            {**tags, **classes_tag(classifier.classes_)},
            # No model_config: the artifact carries its text handling, which the wrapper uses.
        )
        logger.info("run %s registered %s version %s", run.info.run_id, registered_name, version)
        return run.info.run_id, version


def _log_training_history(classifier: Any) -> None:
    """Per-evaluation validation curves of a fine-tuned model (or ensemble member), by step."""
    candidates = [classifier, *getattr(classifier, "members", [])]
    history = next((c.history_ for c in candidates if getattr(c, "history_", None)), None)
    if history is None:
        return
    for record in history.evaluations:
        step = int(record["step"])
        mlflow.log_metrics({f"train.{k}": v for k, v in record.items() if k != "step"}, step=step)
    mlflow.log_metrics({"train_seconds": history.seconds, "train_cpu_seconds": history.cpu_seconds})
    mlflow.log_params(
        {
            "train.steps": history.steps,
            "train.best_step": history.best_step,
            "train.stopped_because": history.stopped_because,
        }
    )


def _log_figures(trained: TrainedTriageModel) -> None:
    split, classes = trained.split, trained.classifier.classes_
    predicted = [classes[i] for i in trained.probabilities.argmax(axis=1)]
    title = f"{trained.model} on {split.dataset}/{split.task}"
    matrix = confusion(split.test_labels, predicted, classes)
    figure = confusion_matrix_figure(matrix, classes, title)
    mlflow.log_figure(figure, "evaluation/confusion_matrix.png")
    bins = reliability_bins(split.test_labels, trained.probabilities, classes)
    figure = reliability_figure(bins, trained.report.ece, title)
    mlflow.log_figure(figure, "evaluation/reliability_diagram.png")
