"""Calibration: temperature scaling (Guo et al., 2017), optionally with a bias per class.

Dividing logits by a temperature T > 0 keeps every argmax and only sharpens (T < 1) or softens
(T > 1) the probabilities. Models trained with `balanced` class weights also carry a prior shift:
they over-predict the small classes, and no temperature can undo that. Bias-corrected temperature
scaling (Alexandari et al., 2020) adds one offset per class after the division, fitted jointly with
T; the probabilities then follow the real class frequencies, and the argmax can move towards the
common classes (more accuracy, sometimes less recall on the rare ones).

Both are fitted by minimising the negative log-likelihood on logits the model did not train on: a
held-out validation split (fine-tuned transformer) or out-of-fold logits from cross-fitting
(linear models, see `crossfit_logits`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from pydantic import Field
from scipy.optimize import minimize, minimize_scalar
from sklearn.model_selection import StratifiedKFold

from models.config import FrozenConfig

logger = logging.getLogger(__name__)

# Search range for log(T): T in [0.05, 20] covers every sane model; wider only invites overflow.
_LOG_T_BOUNDS = (float(np.log(0.05)), float(np.log(20.0)))


class CalibrationConfig(FrozenConfig):
    """The calibration option shared by every classifier's config."""

    class_bias: bool = Field(
        False,
        description="calibrate a bias per class with the temperature: undoes the prior shift of "
        "balanced class weights, so probabilities follow real class frequencies (lower NLL; "
        "shifts decisions towards the common classes)",
    )


def softmax(
    logits: np.ndarray, temperature: float = 1.0, bias: np.ndarray | None = None
) -> np.ndarray:
    """Row-wise softmax of `logits / temperature + bias`, numerically stable."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    if bias is not None:
        scaled = scaled + bias
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


def _scaled_nll(logits: np.ndarray, labels: np.ndarray, params: np.ndarray) -> float:
    """NLL under softmax(logits / exp(params[0]) + [0, params[1:]])."""
    bias = np.concatenate([[0.0], params[1:]])
    return negative_log_likelihood(logits / np.exp(params[0]) + bias, labels, 1.0)


def fit_calibration(
    logits: np.ndarray, labels: np.ndarray, class_bias: bool
) -> tuple[float, np.ndarray | None]:
    """(temperature, per-class bias or None) minimising held-out NLL of `labels`.

    The first class's bias is pinned to 0: softmax ignores a shift shared by every class.
    """
    temperature = fit_temperature(logits, labels)
    if not class_bias:
        return temperature, None
    logits = np.asarray(logits, dtype=np.float64)
    start = np.concatenate([[np.log(temperature)], np.zeros(logits.shape[1] - 1)])
    bounds = [_LOG_T_BOUNDS] + [(-10.0, 10.0)] * (logits.shape[1] - 1)
    result = minimize(
        lambda params: _scaled_nll(logits, labels, params),
        start,
        method="L-BFGS-B",
        bounds=bounds,
    )
    if not result.success or result.fun > _scaled_nll(logits, labels, start):
        logger.warning(
            "class-bias calibration did not converge (%s); temperature only", result.message
        )
        return temperature, None
    temperature = float(np.exp(result.x[0]))
    bias = np.concatenate([[0.0], result.x[1:]])
    logger.info(
        "temperature %.3f with class bias %s: held-out NLL %.4f",
        temperature,
        np.round(bias, 3).tolist(),
        float(result.fun),
    )
    return temperature, bias


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
