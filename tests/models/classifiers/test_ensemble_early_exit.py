"""An ensemble's early exit: the exit member answers alone for the texts it is sure of, and the
other members score only the rest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from models.classifiers.base import ClassifierInputError, ScoredTexts, load_classifier
from models.classifiers.ensemble import EarlyExit, EnsembleClassifier
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig


class _CountingTfidf(TfidfClassifier):
    """A TF-IDF model that records the texts it was asked to score."""

    def __init__(self, config: TfidfConfig) -> None:
        super().__init__(config)
        self.scored: list[str] = []

    def score(self, texts: Sequence[str]) -> ScoredTexts:
        self.scored += list(texts)
        return super().score(texts)


@pytest.fixture(scope="module")
def members(
    tiny_train: tuple[list[str], list[str]],
) -> tuple[_CountingTfidf, TfidfClassifier]:
    """(an expensive-to-be member that counts its texts, the exit member)."""
    word = _CountingTfidf(TfidfConfig(calibration_folds=3, min_df=1, c=0.5))
    chars = TfidfClassifier(TfidfConfig(calibration_folds=3, min_df=1))
    return word.fit(*tiny_train), chars.fit(*tiny_train)


def _median_confidence(model: TfidfClassifier, texts: list[str]) -> float:
    return float(np.median(model.predict_proba(texts).max(axis=1)))


def test_sure_rows_take_the_exit_members_answer_and_the_rest_the_average(
    members: tuple[_CountingTfidf, TfidfClassifier], tiny_test: tuple[list[str], list[str]]
) -> None:
    word, chars = members
    texts = tiny_test[0]
    threshold = _median_confidence(chars, texts)
    assert threshold > 0.5, "the tiny texts should make the exit member sure of half of them"
    ensemble = EnsembleClassifier([word, chars], [1.0, 3.0], EarlyExit(1, threshold))
    exit_probabilities = chars.predict_proba(texts)
    sure = exit_probabilities.max(axis=1) >= threshold
    assert 0 < sure.sum() < len(texts)
    averaged = 0.25 * word.predict_proba(texts) + 0.75 * exit_probabilities

    word.scored.clear()
    probabilities = ensemble.predict_proba(texts)

    np.testing.assert_allclose(probabilities[sure], exit_probabilities[sure], atol=1e-12)
    np.testing.assert_allclose(probabilities[~sure], averaged[~sure], atol=1e-12)
    assert word.scored == [text for text, out in zip(texts, sure, strict=True) if not out]
    np.testing.assert_array_equal(ensemble.exits(texts), sure)


def test_when_every_text_exits_the_other_members_are_not_run(
    members: tuple[_CountingTfidf, TfidfClassifier], tiny_test: tuple[list[str], list[str]]
) -> None:
    word, chars = members
    texts = tiny_test[0]
    lowest = float(chars.predict_proba(texts).max(axis=1).min())
    ensemble = EnsembleClassifier([word, chars], early_exit=EarlyExit(1, max(lowest, 0.51)))
    sure = ensemble.exits(texts)
    word.scored.clear()
    scored = ensemble.score([t for t, out in zip(texts, sure, strict=True) if out])
    explained = scored.explain(range(len(scored.texts)), [None] * len(scored.texts), top_n=2)
    assert word.scored == []  # neither for the answers nor for their evidence
    assert all(explained)


def test_the_early_exit_survives_save_and_load(
    members: tuple[_CountingTfidf, TfidfClassifier],
    tiny_test: tuple[list[str], list[str]],
    tmp_path: Path,
) -> None:
    word, chars = members
    texts = tiny_test[0]
    ensemble = EnsembleClassifier(
        [word, chars], early_exit=EarlyExit(1, _median_confidence(chars, texts))
    )
    ensemble.save(tmp_path / "model")
    loaded = load_classifier(tmp_path / "model")
    assert isinstance(loaded, EnsembleClassifier)
    assert loaded.early_exit == ensemble.early_exit
    np.testing.assert_allclose(loaded.predict_proba(texts), ensemble.predict_proba(texts))


@pytest.mark.parametrize(
    ("weights", "early_exit", "message"),
    [
        (None, EarlyExit(2, 0.9), "not one of the 2 members"),
        (None, EarlyExit(1, 0.5), r"min_confidence must be in \(0.5, 1\]"),
        (None, EarlyExit(1, 1.01), r"min_confidence must be in \(0.5, 1\]"),
        ([1.0, 0.0], EarlyExit(1, 0.9), "positive weight"),
    ],
)
def test_an_impossible_early_exit_is_refused(
    members: tuple[_CountingTfidf, TfidfClassifier],
    weights: list[float] | None,
    early_exit: EarlyExit,
    message: str,
) -> None:
    with pytest.raises(ClassifierInputError, match=message):
        EnsembleClassifier(list(members), weights, early_exit)
