"""Calibration: temperature scaling recovers a known temperature, improves ECE, keeps the argmax;
the per-class bias recovers a known prior shift."""

from __future__ import annotations

import numpy as np
import pytest

from models.classifiers.calibration import (
    crossfit_logits,
    fit_calibration,
    fit_temperature,
    negative_log_likelihood,
    softmax,
)
from training.triage.metrics import expected_calibration_error

CLASSES = ["a", "b", "c"]


def _sample(true_temperature: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from softmax(logits / true_temperature)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, 3))
    probabilities = softmax(logits, true_temperature)
    labels = np.array([rng.choice(3, p=p) for p in probabilities])
    return logits, labels


def test_softmax_rows_sum_to_one_and_survive_huge_logits() -> None:
    probabilities = softmax(np.array([[1000.0, 0.0, -1000.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(probabilities[1], 1 / 3)
    assert probabilities[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_generating_temperature(true_temperature: float) -> None:
    logits, labels = _sample(true_temperature, n=6000, seed=0)
    assert fit_temperature(logits, labels) == pytest.approx(true_temperature, rel=0.12)


def test_temperature_lowers_nll_and_ece_of_an_overconfident_model() -> None:
    logits, labels = _sample(3.0, n=4000, seed=1)  # raw logits are 3x too confident
    calibrate_logits, calibrate_labels = logits[:2000], labels[:2000]
    test_logits, test_labels = logits[2000:], [CLASSES[i] for i in labels[2000:]]
    temperature = fit_temperature(calibrate_logits, calibrate_labels)
    before = expected_calibration_error(test_labels, softmax(test_logits), CLASSES)
    after = expected_calibration_error(test_labels, softmax(test_logits, temperature), CLASSES)
    assert after < before / 2
    assert negative_log_likelihood(logits[2000:], labels[2000:], temperature) < (
        negative_log_likelihood(logits[2000:], labels[2000:], 1.0)
    )
    # scaling never changes which class wins, so accuracy is untouched
    np.testing.assert_array_equal(
        softmax(test_logits, temperature).argmax(axis=1), test_logits.argmax(axis=1)
    )


def test_a_calibrated_model_keeps_its_ece() -> None:
    logits, labels = _sample(1.0, n=4000, seed=2)
    names = [CLASSES[i] for i in labels[2000:]]
    temperature = fit_temperature(logits[:2000], labels[:2000])
    before = expected_calibration_error(names, softmax(logits[2000:]), CLASSES)
    after = expected_calibration_error(names, softmax(logits[2000:], temperature), CLASSES)
    assert after <= before + 0.01


def test_fit_temperature_refuses_empty_input() -> None:
    with pytest.raises(ValueError, match="zero held-out"):
        fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_crossfit_scores_every_row_with_a_model_that_never_saw_it() -> None:
    features = np.arange(20, dtype=np.float64).reshape(-1, 1)
    labels = np.array([0, 1] * 10)
    seen: list[set[int]] = []

    def fit_and_score(train_x: object, train_y: np.ndarray, held_x: object) -> np.ndarray:
        train_rows = {int(v) for v in np.asarray(train_x).ravel()}
        held_rows = {int(v) for v in np.asarray(held_x).ravel()}
        assert not train_rows & held_rows
        seen.append(held_rows)
        return np.tile([1.0, 2.0], (len(held_rows), 1))

    out = crossfit_logits(features, labels, fit_and_score, folds=4, seed=0)
    assert len(seen) == 4
    assert set().union(*seen) == set(range(20))
    np.testing.assert_array_equal(out, np.tile([1.0, 2.0], (20, 1)))


def test_crossfit_caps_folds_at_the_smallest_class_and_refuses_singletons() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1])
    calls = []
    crossfit_logits(
        np.zeros((6, 1)),
        labels,
        lambda tx, ty, hx: calls.append(1) or np.zeros((len(hx), 2)),
        folds=5,
        seed=0,
    )
    assert len(calls) == 2
    with pytest.raises(ValueError, match="smallest class has 1"):
        crossfit_logits(np.zeros((3, 1)), np.array([0, 0, 1]), lambda *a: None, folds=5, seed=0)


def _shifted_sample(shift: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a model trained to over-predict classes: labels follow softmax(logits + shift)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, len(shift)))
    probabilities = softmax(logits, 1.0, shift)
    labels = np.array([rng.choice(len(shift), p=p) for p in probabilities])
    return logits, labels


def test_class_bias_recovers_a_prior_shift_and_beats_temperature_alone() -> None:
    shift = np.array([0.0, -1.0, 0.7])  # e.g. what balanced class weights do to the rare classes
    logits, labels = _shifted_sample(shift, n=8000, seed=3)
    temperature, bias = fit_calibration(logits[:4000], labels[:4000], class_bias=True)
    assert bias is not None and bias[0] == 0.0
    np.testing.assert_allclose(bias, shift, atol=0.15)
    assert temperature == pytest.approx(1.0, rel=0.1)
    held_logits, held_labels = logits[4000:], labels[4000:]
    t_only = fit_temperature(logits[:4000], labels[:4000])
    with_bias = negative_log_likelihood(held_logits + bias * temperature, held_labels, temperature)
    assert with_bias < negative_log_likelihood(held_logits, held_labels, t_only) - 0.02
    # the bias moves decisions towards the classes the raw logits under-predict
    corrected = softmax(held_logits, temperature, bias).argmax(axis=1)
    assert np.mean(corrected == held_labels) > np.mean(held_logits.argmax(axis=1) == held_labels)


def test_class_bias_off_is_plain_temperature_scaling() -> None:
    logits, labels = _sample(2.0, n=3000, seed=4)
    temperature, bias = fit_calibration(logits, labels, class_bias=False)
    assert bias is None
    assert temperature == pytest.approx(fit_temperature(logits, labels))


def test_softmax_adds_the_bias_after_the_temperature() -> None:
    probabilities = softmax(np.array([[2.0, 0.0]]), 2.0, np.array([0.0, 1.0]))
    np.testing.assert_allclose(probabilities, [[0.5, 0.5]])


def test_a_small_perfectly_separated_held_out_set_does_not_drive_certainty_to_one() -> None:
    # 60 held-out examples a model separates with margins of 3-8: the plain NLL falls as the
    # temperature falls, to the bound; the pseudo-examples stop it where the data stop.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60)
    margins = rng.uniform(3.0, 8.0, 60)
    logits = np.stack([-margins / 2, margins / 2], axis=1)
    logits[labels == 0] *= -1
    temperature = fit_temperature(logits, labels)
    assert temperature > 0.5, temperature
    assert softmax(logits, temperature).max() < 0.9999
    # The prior fades with data: a large well-calibrated set keeps its temperature near 1.
    generated = rng.normal(0.0, 2.0, (20_000, 2))
    draws = softmax(generated).cumsum(axis=1) > rng.uniform(size=(20_000, 1))
    many = draws.argmax(axis=1)
    assert fit_temperature(generated, many) == pytest.approx(1.0, rel=0.05)
