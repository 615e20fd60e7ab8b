"""Optuna search spaces: for each model, (trial, base params) -> the config fields to try.

Ranges are wide on a log scale where the right order of magnitude is unknown (regularisation,
neighbourhood size) and conditional where a field only matters with another's value (alpha
only for confidence weighting). Fields not suggested keep the base config's value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna

Params = dict[str, Any]

HYBRID_DEFAULT_COMPONENTS = (
    {"type": "ease", "weight": 1.0, "config": {}},
    {"type": "embedding", "weight": 0.1, "config": {}},
)


def _weighting(trial: optuna.Trial, choices: tuple[str, ...]) -> Params:
    """The input weighting of a WeightedConfig model, with its own parameters when it has some."""
    weighting = trial.suggest_categorical("weighting", list(choices))
    params: Params = {"weighting": weighting}
    if weighting == "confidence":
        params["alpha"] = trial.suggest_float("alpha", 0.1, 100.0, log=True)
    if weighting == "bm25":
        params["bm25_k1"] = trial.suggest_float("bm25_k1", 0.5, 200.0, log=True)
        params["bm25_b"] = trial.suggest_float("bm25_b", 0.0, 1.0)
    return params


def popularity_space(trial: optuna.Trial, base: Params) -> Params:
    return {"measure": trial.suggest_categorical("measure", ["users", "value"])}


def itemknn_space(trial: optuna.Trial, base: Params) -> Params:
    similarity = trial.suggest_categorical("similarity", ["cosine", "bm25", "tfidf"])
    params: Params = {
        "similarity": similarity,
        "neighbours": trial.suggest_int("neighbours", 10, 1000, log=True),
        "binarize": trial.suggest_categorical("binarize", [True, False]),
    }
    if similarity == "bm25":
        params["bm25_k1"] = trial.suggest_float("bm25_k1", 0.2, 20.0, log=True)
        params["bm25_b"] = trial.suggest_float("bm25_b", 0.0, 1.0)
    return params


def als_space(trial: optuna.Trial, base: Params) -> Params:
    return {
        "factors": trial.suggest_int("factors", 8, 256, log=True),
        "regularization": trial.suggest_float("regularization", 1e-2, 300.0, log=True),
        "iterations": trial.suggest_int("iterations", 5, 40),
        **_weighting(trial, ("binary", "confidence", "bm25")),
    }


def bpr_space(trial: optuna.Trial, base: Params) -> Params:
    return {
        "factors": trial.suggest_int("factors", 16, 256, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.2, log=True),
        "regularization": trial.suggest_float("regularization", 1e-5, 0.1, log=True),
        "iterations": trial.suggest_int("iterations", 50, 400, log=True),
    }


def ease_space(trial: optuna.Trial, base: Params) -> Params:
    return {
        "regularization": trial.suggest_float("regularization", 10.0, 5000.0, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        **_weighting(trial, ("binary", "rating", "bm25")),
    }


def embedding_space(trial: optuna.Trial, base: Params) -> Params:
    return {"profile": trial.suggest_categorical("profile", ["mean", "rating"])}


def hybrid_space(trial: optuna.Trial, base: Params) -> Params:
    """The fusion of the base config's components (their own configs stay as given).

    The first component's weight is fixed at 1: only the ratios between weights matter.
    """
    components = [dict(c) for c in base.get("components") or HYBRID_DEFAULT_COMPONENTS]
    for position, component in enumerate(components[1:], start=1):
        name = f"weight_{position}_{component['type']}"
        component["weight"] = trial.suggest_float(name, 0.01, 2.0, log=True)
    fusion = trial.suggest_categorical("fusion", ["rrf", "score"])
    params: Params = {"components": components, "fusion": fusion}
    if fusion == "rrf":
        params["rrf_k"] = trial.suggest_float("rrf_k", 1.0, 200.0, log=True)
    return params


SEARCH_SPACES: dict[str, Callable[[optuna.Trial, Params], Params]] = {
    "popularity": popularity_space,
    "itemknn": itemknn_space,
    "als": als_space,
    "bpr": bpr_space,
    "ease": ease_space,
    "embedding": embedding_space,
    "hybrid": hybrid_space,
}
