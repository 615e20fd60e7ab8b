"""Metrics of the triage classifiers, one signature: (true labels, probabilities, classes).

Expected calibration error uses top-label confidence and equal-width bins: bin b (of B) holds the
predictions whose confidence lies in (b/B, (b+1)/B], the first bin also taking confidence 0.
ECE = sum over bins of (bin size / n) * |bin accuracy - bin mean confidence|; empty bins count 0.
With B = 15 (Guo et al., 2017, the common default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

DEFAULT_ECE_BINS = 15


@dataclass(frozen=True)
class ReliabilityBins:
    """Per-bin counts, mean confidence and accuracy of top-label predictions (empty bins: 0)."""

    edges: np.ndarray  # (B + 1,)
    counts: np.ndarray  # (B,)
    confidence: np.ndarray  # (B,)
    accuracy: np.ndarray  # (B,)


@dataclass(frozen=True)
class ClassificationReport:
    """Every figure the triage pipeline and benchmark report for one model on one split."""

    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    ece: float
    n: int

    def as_metrics(self, prefix: str = "test") -> dict[str, float]:
        """Flat name -> value pairs for MLflow (class names sanitised for metric keys)."""
        metrics = {
            f"{prefix}_accuracy": self.accuracy,
            f"{prefix}_macro_f1": self.macro_f1,
            f"{prefix}_ece": self.ece,
        }
        for name, value in self.per_class_f1.items():
            metrics[f"{prefix}_f1.{_metric_safe(name)}"] = value
        return metrics


def _label_indices(labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(classes)}
    unknown = sorted({label for label in labels if label not in index})
    if unknown:
        raise ValueError(f"labels not among the classifier's classes {list(classes)}: {unknown}")
    return np.array([index[label] for label in labels], dtype=np.int64)


def _check_shapes(truth: np.ndarray, probabilities: np.ndarray, classes: Sequence[str]) -> None:
    if probabilities.ndim != 2 or probabilities.shape != (len(truth), len(classes)):
        raise ValueError(
            f"probabilities must have shape ({len(truth)}, {len(classes)}), "
            f"got {probabilities.shape}"
        )
    if len(truth) == 0:
        raise ValueError("cannot evaluate on zero examples")


def accuracy(labels: Sequence[str], predicted: Sequence[str]) -> float:
    if len(labels) != len(predicted) or not labels:
        raise ValueError(f"need equal, non-zero lengths: {len(labels)} vs {len(predicted)}")
    return float(np.mean([a == b for a, b in zip(labels, predicted, strict=True)]))


def per_class_f1(
    labels: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> dict[str, float]:
    """F1 of each class; a class never predicted nor present scores 0."""
    scores = f1_score(
        list(labels), list(predicted), labels=list(classes), average=None, zero_division=0.0
    )
    return {name: float(score) for name, score in zip(classes, scores, strict=True)}


def macro_f1(labels: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> float:
    """Unweighted mean of the per-class F1 over `classes`."""
    return float(np.mean(list(per_class_f1(labels, predicted, classes).values())))


def reliability_bins(
    labels: Sequence[str],
    probabilities: np.ndarray,
    classes: Sequence[str],
    n_bins: int = DEFAULT_ECE_BINS,
) -> ReliabilityBins:
    """Bin top-label confidence into `n_bins` equal-width bins (see the module docstring)."""
    truth = _label_indices(labels, classes)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    _check_shapes(truth, probabilities, classes)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == truth).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # right-closed bins against the same edges the diagram shows (0 joins the first bin)
    which = np.searchsorted(edges[1:-1], confidence, side="left")
    counts = np.bincount(which, minlength=n_bins).astype(np.float64)
    safe = np.maximum(counts, 1.0)
    mean_confidence = np.bincount(which, weights=confidence, minlength=n_bins) / safe
    mean_accuracy = np.bincount(which, weights=correct, minlength=n_bins) / safe
    return ReliabilityBins(edges, counts, mean_confidence, mean_accuracy)


def expected_calibration_error(
    labels: Sequence[str],
    probabilities: np.ndarray,
    classes: Sequence[str],
    n_bins: int = DEFAULT_ECE_BINS,
) -> float:
    bins = reliability_bins(labels, probabilities, classes, n_bins)
    gaps = np.abs(bins.accuracy - bins.confidence)
    return float(np.sum(bins.counts * gaps) / bins.counts.sum())


def classification_report(
    labels: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]
) -> ClassificationReport:
    """Accuracy, macro-F1, per-class F1 and ECE of `probabilities` against true `labels`."""
    truth = _label_indices(labels, classes)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    _check_shapes(truth, probabilities, classes)
    predicted = [classes[i] for i in probabilities.argmax(axis=1)]
    per_class = per_class_f1(labels, predicted, classes)
    return ClassificationReport(
        accuracy=accuracy(labels, predicted),
        macro_f1=float(np.mean(list(per_class.values()))),
        per_class_f1=per_class,
        ece=expected_calibration_error(labels, probabilities, classes),
        n=len(truth),
    )


def confusion(
    labels: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> np.ndarray:
    """Counts: row = true class, column = predicted class, both in `classes` order."""
    return confusion_matrix(list(labels), list(predicted), labels=list(classes))


def _metric_safe(name: str) -> str:
    """MLflow metric keys allow letters, digits, '_', '-', '.', ' ', '/'; replace the rest."""
    return "".join(ch if ch.isalnum() or ch in "_-. /" else "_" for ch in name)
