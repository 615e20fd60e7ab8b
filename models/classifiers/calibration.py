"""Temperature scaling (Guo et al., 2017): one scalar that makes softmax probabilities honest.

Dividing logits by a temperature T > 0 keeps every argmax (so accuracy is unchanged) and only
sharpens (T < 1) or softens (T > 1) the probabilities. T is fitted by minimising the negative
log-likelihood on logits the model did not train on: a held-out validation split (fine-tuned
transformer) or out-of-fold logits from cross-fitting (linear models, see `crossfit_logits`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.model_selection import StratifiedKFold

logger = logging.getLogger(__name__)

# Search range for log(T): T in [0.05, 20] covers every sane model; wider only invites overflow.
_LOG_T_BOUNDS = (float(np.log(0.05)), float(np.log(20.0)))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`, numerically stable."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of the true `labels` (class indices) under softmax(logits / temperature)."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising NLL of `labels` given held-out `logits`."""
    if len(logits) == 0:
        raise ValueError("cannot fit a temperature on zero held-out examples")
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
        bounds=_LOG_T_BOUNDS,
        method="bounded",
    )
    temperature = float(np.exp(result.x))
    logger.info(
        "temperature %.3f: held-out NLL %.4f -> %.4f",
        temperature,
        negative_log_likelihood(logits, labels, 1.0),
        negative_log_likelihood(logits, labels, temperature),
    )
    return temperature


def crossfit_logits(
    features: object,
    labels: np.ndarray,
    fit_and_score: Callable[[object, np.ndarray, object], np.ndarray],
    folds: int,
    seed: int,
) -> np.ndarray:
    """Out-of-fold logits: for each stratified fold, train on the rest and score the fold.

    `features` is anything indexable by a row-index array (a numpy array or a scipy CSR matrix);
    `fit_and_score(train_features, train_labels, held_out_features)` returns held-out logits.
    The number of folds is capped by the smallest class so every fold sees every class.
    """
    smallest = int(np.bincount(labels).min())
    folds = min(folds, smallest)
    if folds < 2:
        raise ValueError(f"cannot cross-fit: the smallest class has {smallest} example(s)")
    n_classes = int(labels.max()) + 1
    out = np.zeros((len(labels), n_classes), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_rows, held_rows in splitter.split(np.zeros(len(labels)), labels):
        out[held_rows] = fit_and_score(
            features[train_rows],  # type: ignore[index]
            labels[train_rows],
            features[held_rows],  # type: ignore[index]
        )
    return out
