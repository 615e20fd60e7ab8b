"""The triage training pipeline: split -> fit -> evaluate -> log to MLflow -> register.

Each step is a plain function with typed inputs and outputs; `train_triage` chains them and the
CLI (`agora train triage`) only parses options. Registration never moves `@champion`: promotion
is a separate, gated step.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from features.text import TextConfig, model_input
from features.text_splits import Task, TextSplit, load_split
from models.classifiers.base import TextClassifier
from models.classifiers.ensemble import EnsembleClassifier
from models.served_models import default_triage_dataset, triage_registered_name
from training.triage.config import (
    TriageConfig,
    build_classifier,
    classifier_type,
    serving_text_config,
)
from training.triage.metrics import ClassificationReport, classification_report

logger = logging.getLogger(__name__)

EXPERIMENT = "agora-triage"
# The agora.family tag of every triage run and version (the recommenders' is "recommender").
FAMILY = "triage"


@dataclass(frozen=True)
class TrainedTriageModel:
    """A fitted classifier with its evaluation on the split's test part."""

    model: str
    classifier: TextClassifier
    split: TextSplit
    report: ClassificationReport
    probabilities: np.ndarray
    fit_seconds: float
    predict_seconds: float


@dataclass(frozen=True)
class TriageRunResult:
    """What `train_triage` produced: the MLflow run, the registry version and the figures."""

    run_id: str
    registered_name: str
    version: str
    trained: TrainedTriageModel
    extra_metrics: dict[str, float] = field(default_factory=dict)  # logged beyond the report


def registered_name(split: TextSplit) -> str:
    """The registry name a model trained on `split` is registered under (models.served_models):
    a serving slot's name when the split is that slot's dataset, else one with the dataset."""
    return triage_registered_name(split.task, split.language, split.dataset)


def limit_split(split: TextSplit, limit: int) -> TextSplit:
    """The first `limit` train and `max(1, limit // 4)` test rows (splits are shuffled)."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    n_test = max(1, limit // 4)
    return dataclasses.replace(
        split,
        train_texts=split.train_texts[:limit],
        train_labels=split.train_labels[:limit],
        test_texts=split.test_texts[:n_test],
        test_labels=split.test_labels[:n_test],
        lineage={
            **split.lineage,
            "limit": limit,
            "train_rows": min(limit, len(split.train_texts)),
            "test_rows": min(n_test, len(split.test_texts)),
        },
    )


def model_inputs(texts: Sequence[str], text: TextConfig | None = None) -> list[str]:
    """Texts as the triage engine hands them to a model: cleaned and truncated by
    `prepare_text`, then handles, URLs and brand names masked by `normalise_for_model`.

    `text` defaults to the engine's shipped text handling. A model records the text handling it
    was trained with (`TextClassifier.text_config`), and the engine serves it the same way.
    """
    text = text or serving_text_config()
    return [model_input(raw, text) for raw in texts]


def fit_and_evaluate(
    model: str, split: TextSplit, config: TriageConfig, classifier: TextClassifier | None = None
) -> TrainedTriageModel:
    """Fit `model` (or the given, unfitted `classifier`) on the train part; score the test part.

    The classifier records `config.text`, the text handling its inputs were prepared with, so its
    artifact carries it and the engine serves it the same inputs.
    """
    classifier_type(model)  # an unknown model fails before any work
    config = config.for_split(split.task, split.language)
    classifier = classifier or build_classifier(model, config)
    logger.info(
        "training %s on %s/%s (%d texts)", model, split.dataset, split.task, len(split.train_texts)
    )
    started = time.perf_counter()
    classifier.fit(model_inputs(split.train_texts, config.text), split.train_labels)
    fit_seconds = time.perf_counter() - started
    classifier.set_text_config(config.text)
    return evaluate(model, classifier, split, fit_seconds)


def evaluate(
    model: str,
    classifier: TextClassifier,
    split: TextSplit,
    fit_seconds: float = 0.0,
    text: TextConfig | None = None,
) -> TrainedTriageModel:
    """Score an already fitted classifier on the split's test part (inputs as `model_inputs`).

    Inputs are prepared with the classifier's own text handling; `text` (default: the engine's)
    is for a model saved before artifacts recorded it.
    """
    started = time.perf_counter()
    own = classifier.text_config or text
    probabilities = classifier.predict_proba(model_inputs(split.test_texts, own))
    predict_seconds = time.perf_counter() - started
    report = classification_report(split.test_labels, probabilities, classifier.classes_)
    logger.info(
        "%s on %s/%s: accuracy %.4f, macro-F1 %.4f, ECE %.4f (fit %.0f s)",
        model,
        split.dataset,
        split.task,
        report.accuracy,
        report.macro_f1,
        report.ece,
        fit_seconds,
    )
    return TrainedTriageModel(
        model, classifier, split, report, probabilities, fit_seconds, predict_seconds
    )


def train_triage(
    task: Task | str,
    dataset: str | None,
    model: str,
    config: TriageConfig | None = None,
    tracking_uri: str | None = None,
    name: str | None = None,
    limit: int | None = None,
    split: TextSplit | None = None,
) -> TriageRunResult:
    """Train, evaluate, log and register one triage model; returns the run and version.

    `limit` keeps only the first `limit` training rows and `limit // 4` test rows of the fixed
    split (smoke runs and CI); the lineage records it. `split` replaces the fixed split of
    `dataset` (the retrain passes it with the agents' corrections added).
    """
    # MLflow is imported here, not at module import: `agora --help` stays fast.
    from training.tracking import check_registry_name, configure_tracking

    config = config or TriageConfig()
    classifier_type(model)  # an unknown model fails before any data is read
    # A store that cannot take the run fails here, not after the training.
    uri = configure_tracking(tracking_uri)
    logger.info("tracking to %s", uri)
    if split is None:
        split = load_split(dataset or default_triage_dataset(task), task)
    if limit is not None:
        split = limit_split(split, limit)
    config = config.for_task(split.task)  # the run logs the sections the model used
    target = name or registered_name(split)
    check_registry_name(target, FAMILY)  # before the training, not after it
    trained = fit_and_evaluate(model, split, config)
    return register_trained(trained, config, target)


def register_trained(
    trained: TrainedTriageModel,
    config: TriageConfig,
    name: str,
    extra_metrics: dict[str, float] | None = None,
) -> TriageRunResult:
    """Log an evaluated model's run (with `extra_metrics`) and register it as a version of
    `name`. Tracking must be configured (`train_triage` does it)."""
    from training.triage.tracking import log_triage_run

    metrics = {**early_exit_metrics(trained), **(extra_metrics or {})}
    with tempfile.TemporaryDirectory(prefix="agora-triage-") as scratch:
        artifact = Path(scratch) / "native"  # path in the logged model: artifacts/native
        trained.classifier.save(artifact)
        run_id, version = log_triage_run(trained, config, artifact, name, metrics)
    return TriageRunResult(run_id, name, version, trained, metrics)


def early_exit_metrics(trained: TrainedTriageModel) -> dict[str, float]:
    """For an ensemble with an early exit: the share of test texts its exit member answered
    alone, and how many of those answers differ from the full average (scored here for them
    only). Empty for any other model."""
    classifier = trained.classifier
    if not isinstance(classifier, EnsembleClassifier) or classifier.early_exit is None:
        return {}
    texts = model_inputs(trained.split.test_texts, classifier.text_config)
    exits = classifier.exits(texts)
    changed = 0
    if exits.any():
        averaged = EnsembleClassifier(classifier.members, classifier.weights)
        full = averaged.predict_proba([text for text, out in zip(texts, exits, strict=True) if out])
        changed = int((full.argmax(axis=1) != trained.probabilities[exits].argmax(axis=1)).sum())
    logger.info(
        "early exit: %d of %d test texts answered by %s alone, %d answers changed",
        int(exits.sum()),
        len(texts),
        classifier.members[classifier.early_exit.member].model_type,
        changed,
    )
    return {"ensemble_exit_share": float(exits.mean()), "ensemble_exit_changed": float(changed)}
