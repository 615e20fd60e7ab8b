"""Triage metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from training.triage.metrics import (
    accuracy,
    classification_report,
    confusion,
    expected_calibration_error,
    macro_f1,
    per_class_f1,
    reliability_bins,
)

CLASSES = ["a", "b", "c"]
TRUTH = ["a", "a", "b", "b", "c", "c"]
# predicted: a, b, b, b, a, c   (confidences .9 .6 .7 .8 .5 1.0)
PROBABILITIES = np.array(
    [
        [0.9, 0.05, 0.05],
        [0.4, 0.6, 0.0],
        [0.2, 0.7, 0.1],
        [0.1, 0.8, 0.1],
        [0.5, 0.2, 0.3],
        [0.0, 0.0, 1.0],
    ]
)
PREDICTED = ["a", "b", "b", "b", "a", "c"]


def test_accuracy_counts_exact_matches() -> None:
    assert accuracy(TRUTH, PREDICTED) == pytest.approx(4 / 6)


def test_per_class_and_macro_f1_by_hand() -> None:
    # a: P=1/2 R=1/2 -> 0.5; b: P=2/3 R=1 -> 0.8; c: P=1 R=1/2 -> 2/3
    scores = per_class_f1(TRUTH, PREDICTED, CLASSES)
    assert scores == pytest.approx({"a": 0.5, "b": 0.8, "c": 2 / 3})
    assert macro_f1(TRUTH, PREDICTED, CLASSES) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_a_class_never_predicted_nor_present_scores_zero_in_macro_f1() -> None:
    assert per_class_f1(["a", "b"], ["a", "b"], ["a", "b", "c"])["c"] == 0.0
    assert macro_f1(["a", "b"], ["a", "b"], ["a", "b", "c"]) == pytest.approx(2 / 3)


def test_ece_with_two_bins_by_hand() -> None:
    # bin (0, .5]: row 5 (conf .5, wrong) -> gap .5, weight 1/6
    # bin (.5, 1]: confs .9 .6 .7 .8 1.0 (mean .8), 4 of 5 right (.8) -> gap 0
    assert expected_calibration_error(TRUTH, PROBABILITIES, CLASSES, n_bins=2) == pytest.approx(
        0.5 / 6
    )


def test_ece_with_ten_bins_by_hand() -> None:
    # one prediction per bin except the empty ones; per-row gaps: |1-.9| |0-.6| |1-.7| |1-.8|
    # |0-.5| |1-1| -> (.1 + .6 + .3 + .2 + .5 + 0) / 6
    assert expected_calibration_error(TRUTH, PROBABILITIES, CLASSES, n_bins=10) == pytest.approx(
        1.7 / 6
    )


def test_reliability_bins_are_right_closed() -> None:
    bins = reliability_bins(["a"], np.array([[0.5, 0.5, 0.0]]), CLASSES, n_bins=2)
    np.testing.assert_array_equal(bins.counts, [1, 0])
    bins = reliability_bins(["a"], np.array([[0.51, 0.49, 0.0]]), CLASSES, n_bins=2)
    np.testing.assert_array_equal(bins.counts, [0, 1])
    np.testing.assert_allclose(bins.edges, [0.0, 0.5, 1.0])


def test_confident_and_correct_has_zero_ece() -> None:
    one_hot = np.eye(3)[[0, 1, 2, 0]]
    assert expected_calibration_error(["a", "b", "c", "a"], one_hot, CLASSES) == 0.0


def test_report_combines_every_metric() -> None:
    report = classification_report(TRUTH, PROBABILITIES, CLASSES)
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.macro_f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert report.n == 6
    metrics = report.as_metrics("test")
    assert metrics["test_f1.b"] == pytest.approx(0.8)
    assert set(metrics) == {
        "test_accuracy",
        "test_macro_f1",
        "test_ece",
        "test_f1.a",
        "test_f1.b",
        "test_f1.c",
    }


def test_confusion_rows_are_truth_columns_predictions() -> None:
    np.testing.assert_array_equal(
        confusion(TRUTH, PREDICTED, CLASSES), [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    )


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="not among the classifier's classes"):
        classification_report(["z"], np.array([[1.0, 0.0, 0.0]]), CLASSES)
    with pytest.raises(ValueError, match="shape"):
        classification_report(["a"], np.array([[1.0, 0.0]]), CLASSES)
    with pytest.raises(ValueError, match="zero examples"):
        classification_report([], np.zeros((0, 3)), CLASSES)
