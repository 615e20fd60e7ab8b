"""A linear (logistic-regression) head stored as plain arrays.

scikit-learn fits it; inference is a matrix product in numpy, so a saved head is two arrays in an
.npz file (no pickle) and loading it needs no estimator object. Shared by the TF-IDF and the
sentence-embedding classifiers.

With `nb_smoothing`, `LinearHead.fit` is NB-LR (Wang and Manning, 2012, "Baselines and
bigrams"): each class scales the features by their naive-Bayes log-count ratio for that class
against the rest, and a binary logistic regression is fitted on the scaled features, one per
class. Scaling by a fixed vector is still linear, so the head stores the products (coefficient
times ratio) and scores, explains and saves exactly like the multinomial head.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Protocol

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from models.classifiers.calibration import crossfit_logits, fit_calibration

ClassWeight = Literal["balanced", "none"]


@dataclass(frozen=True)
class LinearHead:
    """Logits = features @ coef.T + intercept; one row of `coef` per class (binary included)."""

    coef: np.ndarray  # (n_classes, n_features)
    intercept: np.ndarray  # (n_classes,)

    @classmethod
    def fit(
        cls,
        features: Any,
        labels: np.ndarray,
        n_classes: int,
        c: float,
        class_weight: ClassWeight,
        max_iter: int,
        nb_smoothing: float | None = None,
    ) -> LinearHead:
        """Fit on `features` (dense or sparse) and class indices `labels` in [0, n_classes).

        `nb_smoothing` set: NB-LR (module docstring) on non-negative features, with that additive
        smoothing of the ratios; otherwise one multinomial logistic regression.
        """
        model = LogisticRegression(
            C=c, class_weight=None if class_weight == "none" else "balanced", max_iter=max_iter
        )
        if nb_smoothing is None:
            model.fit(features, labels)
            coef = np.asarray(model.coef_, dtype=np.float64)
            intercept = np.asarray(model.intercept_, dtype=np.float64)
        else:
            coef, intercept = _fit_nb_rows(features, labels, n_classes, model, nb_smoothing)
        if coef.shape[0] == 1:
            # Binary LR has one weight row for class 1; logits [-z/2, z/2] give the same softmax
            # as sigmoid(z) and keep the class-wise explanation symmetric.
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        if coef.shape[0] != n_classes:
            raise ValueError(f"training labels cover {coef.shape[0]} of {n_classes} classes")
        return cls(coef=coef, intercept=intercept)

    @cached_property
    def coef_by_feature(self) -> np.ndarray:
        """`coef.T` laid out row-major, computed once: a sparse matrix times the strided view
        `coef.T` copies the whole coefficient matrix on every call (3 ms for one text against
        600k features), times this array it reads only the text's rows."""
        return np.ascontiguousarray(self.coef.T)

    def logits(self, features: Any) -> np.ndarray:
        scores = features @ self.coef_by_feature
        if sparse.issparse(scores):
            scores = scores.toarray()
        return np.asarray(scores, dtype=np.float64) + self.intercept

    def contributions(self, features_row: Any, class_index: int) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, weights) of one sparse row towards class `class_index`.

        The weight of a feature is its value times its coefficient for the class minus the mean
        coefficient over classes: softmax only cares about logit differences, so a term that
        raises every class equally explains nothing.
        """
        row = sparse.csr_matrix(features_row)
        # Only the row's columns: averaging all of coef (600k features) cost ms per explanation.
        columns = self.coef[:, row.indices]
        relative = columns[class_index] - columns.mean(axis=0)
        return row.indices, row.data * relative

    @cached_property
    def mean_coef(self) -> np.ndarray:
        """Each feature's coefficient averaged over classes (computed once per head)."""
        return self.coef.mean(axis=0)

    def batch_contributions(self, features: sparse.csr_matrix, classes: np.ndarray) -> np.ndarray:
        """`contributions` of every stored entry of `features` at once, aligned with `.data`.

        Row i is explained towards class `classes[i]`; the weights equal what `contributions`
        gives row by row (the class mean is taken per column either way), without a loop.
        """
        per_entry = np.repeat(np.asarray(classes, dtype=np.intp), np.diff(features.indptr))
        columns = features.indices
        return features.data * (self.coef[per_entry, columns] - self.mean_coef[columns])

    def to_arrays(self, prefix: str = "head") -> dict[str, np.ndarray]:
        return {f"{prefix}_coef": self.coef, f"{prefix}_intercept": self.intercept}

    @classmethod
    def from_arrays(cls, arrays: Any, prefix: str = "head") -> LinearHead:
        return cls(coef=arrays[f"{prefix}_coef"], intercept=arrays[f"{prefix}_intercept"])


def _fit_nb_rows(
    features: Any,
    labels: np.ndarray,
    n_classes: int,
    model: LogisticRegression,
    smoothing: float,
) -> tuple[np.ndarray, np.ndarray]:
    """NB-LR weight rows: one-vs-rest, or the class-1 model alone when binary (like sklearn)."""
    features = sparse.csr_matrix(features)
    if features.nnz and features.data.min() < 0:
        raise ValueError("NB weighting needs non-negative features (counts or TF-IDF)")
    present = len(np.unique(labels))
    if present != n_classes:
        raise ValueError(f"training labels cover {present} of {n_classes} classes")
    targets = [1] if n_classes == 2 else list(range(n_classes))
    coef = np.zeros((len(targets), features.shape[1]), dtype=np.float64)
    intercept = np.zeros(len(targets), dtype=np.float64)
    for row, target in enumerate(targets):
        positive = labels == target
        ratio = _log_count_ratio(features, positive, smoothing)
        model.fit(features @ sparse.diags(ratio.astype(features.dtype)), positive)
        coef[row] = model.coef_[0] * ratio
        intercept[row] = model.intercept_[0]
    return coef, intercept


def _log_count_ratio(
    features: sparse.csr_matrix, positive: np.ndarray, smoothing: float
) -> np.ndarray:
    """log of (feature share in the positive rows) / (feature share in the others), smoothed."""
    in_class = smoothing + np.asarray(features[positive].sum(axis=0), dtype=np.float64).ravel()
    others = smoothing + np.asarray(features[~positive].sum(axis=0), dtype=np.float64).ravel()
    return np.log(in_class / in_class.sum()) - np.log(others / others.sum())


class HeadSettings(Protocol):
    """The config fields a calibrated linear head needs (TF-IDF and embedding configs have them)."""

    c: float
    class_weight: ClassWeight
    max_iter: int
    calibration_folds: int
    class_bias: bool
    seed: int


def fit_calibrated_head(
    features: Any,
    y: np.ndarray,
    n_classes: int,
    settings: HeadSettings,
    nb_smoothing: float | None = None,
) -> tuple[LinearHead, float, np.ndarray | None]:
    """Fit the head on all of `features`; (head, temperature, class bias or None).

    `nb_smoothing` set: an NB-LR head with that smoothing (`LinearHead.fit`), else the
    multinomial one. The calibration is fitted on out-of-fold logits. With fewer than two
    calibration folds the temperature stays 1.0 and there is no bias (no calibration).
    """

    def fit(train_x: Any, train_y: np.ndarray) -> LinearHead:
        return LinearHead.fit(
            train_x,
            train_y,
            n_classes,
            settings.c,
            settings.class_weight,
            settings.max_iter,
            nb_smoothing=nb_smoothing,
        )

    temperature, bias = 1.0, None
    if settings.calibration_folds >= 2:
        oof = crossfit_logits(
            features,
            y,
            lambda train_x, train_y, held_x: fit(train_x, train_y).logits(held_x),
            settings.calibration_folds,
            settings.seed,
        )
        temperature, bias = fit_calibration(oof, y, settings.class_bias)
    return fit(features, y), temperature, bias
