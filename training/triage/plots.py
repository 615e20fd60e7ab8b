"""Figures logged with every triage run: a confusion matrix and a reliability diagram."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from training.fonts import cjk_fallback
from training.triage.metrics import ReliabilityBins


def confusion_matrix_figure(matrix: np.ndarray, classes: Sequence[str], title: str) -> Figure:
    """Row-normalised confusion matrix with raw counts written in each cell."""
    with cjk_fallback():  # class labels may be Chinese (a bring-your-own label set)
        return _confusion_matrix(matrix, classes, title)


def _confusion_matrix(matrix: np.ndarray, classes: Sequence[str], title: str) -> Figure:
    size = max(4.0, 0.6 * len(classes) + 2.5)
    # A bare Figure (no pyplot): no global backend switch, nothing to close, headless-safe.
    figure = Figure(figsize=(size, size))
    axes = figure.subplots()
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    axes.imshow(matrix / totals, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(classes)), labels=list(classes), rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), labels=list(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for row in range(len(classes)):
        for column in range(len(classes)):
            share = matrix[row, column] / totals[row, 0]
            axes.text(
                column,
                row,
                str(matrix[row, column]),
                ha="center",
                va="center",
                color="white" if share > 0.5 else "black",
                fontsize=8,
            )
    figure.tight_layout()
    return figure


def reliability_figure(bins: ReliabilityBins, ece: float, title: str) -> Figure:
    """Accuracy per confidence bin against the diagonal of perfect calibration."""
    figure = Figure(figsize=(5, 5))
    axes = figure.subplots()
    centres = (bins.edges[:-1] + bins.edges[1:]) / 2
    width = bins.edges[1] - bins.edges[0]
    filled = bins.counts > 0
    axes.bar(
        centres[filled],
        bins.accuracy[filled],
        width=width * 0.9,
        alpha=0.7,
        label="accuracy",
        edgecolor="black",
    )
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    axes.plot(
        centres[filled],
        bins.confidence[filled],
        "o",
        color="red",
        markersize=4,
        label="mean confidence",
    )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (top-label probability)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"{title}\nECE = {ece:.4f}")
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure
