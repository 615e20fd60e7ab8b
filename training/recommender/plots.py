"""Figures logged with every recommender run: metrics against the cut-off, popularity bias."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The object-oriented Figure needs no pyplot backend or global state: safe on servers and CI.
from matplotlib.figure import Figure

from training.recommender.evaluate import Evaluation, metrics_by_k_frame
from training.recommender.metrics import popularity_percentiles

PLOTTED_METRICS = ("ndcg", "precision", "recall", "map", "hit_rate")


def plot_metrics_by_k(evaluation: Evaluation, path: Path, title: str) -> Path:
    """Line plot of the accuracy metrics at every evaluated cut-off."""
    frame = metrics_by_k_frame(evaluation)
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    for name in PLOTTED_METRICS:
        if name in frame:
            axes.plot(frame["k"], frame[name], marker="o", label=name)
    axes.set_xlabel("k (list length)")
    axes.set_ylabel("metric @ k")
    axes.set_xscale("log")
    axes.set_xticks(frame["k"], [str(k) for k in frame["k"]])
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="center right")
    return _save(figure, path)


def plot_popularity_bias(evaluation: Evaluation, path: Path, title: str) -> Path:
    """Histogram of the popularity percentile of recommended items against the catalog's.

    A catalog's percentiles are uniform by construction; a recommender that piles up on the
    right is biased towards popular items.
    """
    percentiles = popularity_percentiles(evaluation.item_popularity)
    shown = [
        percentiles[item]
        for items in evaluation.top_k_lists().values()
        for item in items
        if item in percentiles
    ]
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    bins = np.linspace(0, 1, 21)
    axes.hist(list(percentiles.values()), bins=bins, density=True, alpha=0.4, label="catalog")
    axes.hist(shown, bins=bins, density=True, alpha=0.6, label=f"recommended (top {evaluation.k})")
    axes.set_xlabel("training popularity percentile of the item")
    axes.set_ylabel("density")
    axes.set_title(title)
    axes.legend()
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path
