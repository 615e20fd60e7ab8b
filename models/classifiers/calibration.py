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


def smoothing_weight(n: int, classes: int) -> float:
    """The weight of one uniform pseudo-example per class among `n` held-out examples.

    Without it, held-out logits that a small set happens to separate perfectly drive the
    temperature to its bound (0.05 on 263 tickets: certainties of 1 - 1e-8 on unrelated text,
    which urgency rules then act on). The prior's weight fades with data: 0.1 % at 3,000.
    """
    return classes / (n + classes)


def calibration_loss(
    logits: np.ndarray, labels: np.ndarray, temperature: float, smoothing: float
) -> float:
    """Mean NLL of targets smoothed towards uniform by `smoothing`, under softmax(logits / T)."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_p = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
    true = -log_p[np.arange(len(labels)), labels]
    return float(np.mean((1.0 - smoothing) * true - smoothing * log_p.mean(axis=1)))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the NLL of `labels` given held-out `logits`, with a uniform
    pseudo-example per class (`smoothing_weight`)."""
    if len(logits) == 0:
        raise ValueError("cannot fit a temperature on zero held-out examples")
    smoothing = smoothing_weight(len(logits), np.asarray(logits).shape[1])
    result = minimize_scalar(
        lambda log_t: calibration_loss(logits, labels, float(np.exp(log_t)), smoothing),
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


def _scaled_loss(logits: np.ndarray, labels: np.ndarray, params: np.ndarray) -> float:
    """`calibration_loss` under softmax(logits / exp(params[0]) + [0, params[1:]])."""
    bias = np.concatenate([[0.0], params[1:]])
    smoothing = smoothing_weight(len(logits), logits.shape[1])
    return calibration_loss(logits / np.exp(params[0]) + bias, labels, 1.0, smoothing)


def fit_calibration(
    logits: np.ndarray, labels: np.ndarray, class_bias: bool
) -> tuple[float, np.ndarray | None]:
    """(temperature, per-class bias or None) minimising held-out NLL of `labels` (with the
    pseudo-examples of `fit_temperature`).

    The first class's bias is pinned to 0: softmax ignores a shift shared by every class.
    """
    temperature = fit_temperature(logits, labels)
    if not class_bias:
        return temperature, None
    logits = np.asarray(logits, dtype=np.float64)
    start = np.concatenate([[np.log(temperature)], np.zeros(logits.shape[1] - 1)])
    bounds = [_LOG_T_BOUNDS] + [(-10.0, 10.0)] * (logits.shape[1] - 1)
    result = minimize(
        lambda params: _scaled_loss(logits, labels, params),
        start,
        method="L-BFGS-B",
        bounds=bounds,
    )
    if not result.success or result.fun > _scaled_loss(logits, labels, start):
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
        negative_log_likelihood(logits / temperature + bias, labels, 1.0),
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
