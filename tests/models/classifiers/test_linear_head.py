"""The linear head's NB-LR fit: the stored products score as the per-class scaled models do."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models.classifiers.linear import LinearHead


def _features(texts: list[str]) -> sparse.csr_matrix:
    return TfidfVectorizer().fit_transform(texts).tocsr()


def test_nb_head_logits_equal_the_per_class_models_on_scaled_features(
    tiny_train: tuple[list[str], list[str]],
) -> None:
    texts, labels = tiny_train
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    x = _features(texts)
    head = LinearHead.fit(
        x, y, len(classes), c=4.0, class_weight="balanced", max_iter=1000, nb_smoothing=1.0
    )

    for k in range(len(classes)):
        positive = y == k
        # The ratio written out independently: smoothed feature shares, in class vs the rest.
        inside = 1.0 + np.asarray(x[positive].sum(axis=0)).ravel()
        outside = 1.0 + np.asarray(x[~positive].sum(axis=0)).ravel()
        ratio = np.log(inside / inside.sum() / (outside / outside.sum()))
        scaled = x @ sparse.diags(ratio)
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000)
        model.fit(scaled, positive)
        np.testing.assert_allclose(
            head.logits(x)[:, k], model.decision_function(scaled), rtol=1e-4, atol=1e-4
        )
    assert (head.logits(x).argmax(axis=1) == y).mean() > 0.95  # the cue words are learnt


def test_binary_nb_head_has_two_opposite_rows_and_separates_the_classes() -> None:
    texts = ["late and rude", "lost my bag", "great crew", "lovely and smooth"] * 5
    y = np.array([0, 0, 1, 1] * 5)
    head = LinearHead.fit(
        _features(texts), y, 2, c=4.0, class_weight="none", max_iter=500, nb_smoothing=1.0
    )
    np.testing.assert_allclose(head.coef[0], -head.coef[1])
    assert list(head.logits(_features(texts)).argmax(axis=1)) == list(y)


def test_nb_head_rejects_negative_features_and_missing_classes() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        LinearHead.fit(
            np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([0, 1]), 2, 1.0, "none", 50, 1.0
        )
    with pytest.raises(ValueError, match="cover 2 of 3 classes"):
        LinearHead.fit(np.eye(4), np.array([0, 1, 0, 1]), 3, 1.0, "none", 50, nb_smoothing=1.0)
