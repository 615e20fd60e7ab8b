"""One contract suite run against every text classifier (TF-IDF, embedding, fine-tune, ensemble)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from models.artifacts import MANIFEST_FILE
from models.classifiers import (
    ClassifierInputError,
    NotFittedError,
    TermWeight,
    TextClassifier,
    load_classifier,
)
from models.classifiers.embedding import EmbeddingClassifier, EmbeddingConfig
from models.classifiers.ensemble import EarlyExit, EnsembleClassifier
from models.classifiers.finetune_config import FineTuneConfig
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig


def _tfidf() -> TextClassifier:
    return TfidfClassifier(TfidfConfig(calibration_folds=3, min_df=1))


def _tfidf_nb() -> TextClassifier:
    return TfidfClassifier(TfidfConfig(calibration_folds=3, min_df=1, nb_weighting=True))


def _embedding() -> TextClassifier:
    # No on-disk cache: this fixture outlives the per-test private cache folder.
    return EmbeddingClassifier(EmbeddingConfig(calibration_folds=3, use_cache=False))


def _finetune() -> TextClassifier:
    from models.classifiers.finetune import FineTunedClassifier

    config = FineTuneConfig(
        max_length=16,
        batch_size=8,
        eval_batch_size=32,
        learning_rate=5e-4,
        epochs=6,
        max_steps=40,
        evaluations_per_epoch=1,
        patience=100,
        validation_fraction=0.2,
        time_budget_minutes=None,
    )
    return FineTunedClassifier(config)


def _ensemble() -> TextClassifier:
    return EnsembleClassifier([_tfidf(), _embedding()], weights=[2.0, 1.0])


def _ensemble_with_exit() -> TextClassifier:
    # The exit member second, so the first member explains only the rows past the exit.
    return EnsembleClassifier([_embedding(), _tfidf()], early_exit=EarlyExit(1, 0.6))


FACTORIES: dict[str, Callable[[], TextClassifier]] = {
    "tfidf": _tfidf,
    "tfidf-nb": _tfidf_nb,
    "embedding": _embedding,
    "finetune": _finetune,
    "ensemble": _ensemble,
    "ensemble-exit": _ensemble_with_exit,
}
KINDS = [
    "tfidf",
    "tfidf-nb",
    "embedding",
    pytest.param("finetune", marks=pytest.mark.slow),
    "ensemble",
    "ensemble-exit",
]


@pytest.fixture(scope="module", params=KINDS)
def fitted(
    request: pytest.FixtureRequest, tiny_train: tuple[list[str], list[str]]
) -> TextClassifier:
    """Each kind is fitted once per module (fitting is the slow part); tests only read it."""
    return FACTORIES[request.param]().fit(*tiny_train)


def test_probabilities_are_a_distribution_over_sorted_classes(
    fitted: TextClassifier, tiny_test: tuple[list[str], list[str]]
) -> None:
    texts, _ = tiny_test
    probabilities = fitted.predict_proba(texts)
    assert fitted.classes_ == ["negative", "neutral", "positive"]
    assert probabilities.shape == (len(texts), 3)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert fitted.predict(texts) == [fitted.classes_[i] for i in probabilities.argmax(axis=1)]


def test_learns_the_cue_words(
    fitted: TextClassifier, tiny_test: tuple[list[str], list[str]]
) -> None:
    texts, labels = tiny_test
    predicted = fitted.predict(texts)
    accuracy = np.mean([p == t for p, t in zip(predicted, labels, strict=True)])
    assert accuracy >= 0.8


def test_empty_input_gives_empty_output(fitted: TextClassifier) -> None:
    assert fitted.predict_proba([]).shape == (0, 3)
    assert fitted.predict([]) == []


def test_save_then_load_gives_identical_probabilities(
    fitted: TextClassifier, tiny_test: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    texts, _ = tiny_test
    texts = [*texts, "", "完全没有见过的文字", "x" * 3000]  # empty, unseen script, very long
    fitted.save(tmp_path / "model")
    loaded = load_classifier(tmp_path / "model")
    assert type(loaded) is type(fitted)
    assert loaded.classes_ == fitted.classes_
    assert loaded.temperature_ == pytest.approx(fitted.temperature_)
    assert (loaded.class_bias_ is None) == (fitted.class_bias_ is None)
    np.testing.assert_allclose(loaded.predict_proba(texts), fitted.predict_proba(texts), atol=1e-6)
    assert not list(tmp_path.glob(".model*")), "no staging folder may be left behind"


def test_saving_over_an_existing_model_replaces_it(fitted: TextClassifier, tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("from an older model")
    fitted.save(target)
    assert not (target / "stale.txt").exists()
    assert load_classifier(target).classes_ == fitted.classes_


def test_explain_returns_term_weights(fitted: TextClassifier) -> None:
    terms = fitted.explain("awful rude crew and my bag was lost", top_n=3)
    assert len(terms) <= 3
    assert all(isinstance(t, TermWeight) and t.weight > 0 for t in terms)
    if isinstance(fitted, TfidfClassifier | EnsembleClassifier):  # these can decompose
        assert terms and terms[0].term in "awful rude crew and my bag was lost"
        weights = [t.weight for t in terms]
        assert weights == sorted(weights, reverse=True)


def test_a_batch_explains_and_scores_as_one_text_at_a_time(
    fitted: TextClassifier, tiny_test: tuple[list[str], list[str]]
) -> None:
    texts = tiny_test[0][:8]
    labels: list[str | None] = [None, "negative", "positive", None, "neutral", None, None, None]
    scored = fitted.score(texts)
    np.testing.assert_allclose(scored.probabilities, fitted.predict_proba(texts), atol=1e-12)
    batch = fitted.explain_batch(texts, labels, top_n=3)
    one_by_one = [
        fitted.explain(text, top_n=3, label=label)
        for text, label in zip(texts, labels, strict=True)
    ]
    assert batch == one_by_one


def test_bad_input_names_the_problem(fitted: TextClassifier) -> None:
    with pytest.raises(ClassifierInputError, match="single string"):
        fitted.predict_proba("just one text")  # type: ignore[arg-type]
    with pytest.raises(ClassifierInputError, match=r"texts\[1\]"):
        fitted.predict(["fine", None])  # type: ignore[list-item]
    with pytest.raises(ClassifierInputError, match="not one of"):
        fitted.explain("late flight", label="furious")


@pytest.mark.parametrize("kind", list(FACTORIES))
def test_unfitted_classifier_raises_not_fitted(kind: str, tmp_path: Path) -> None:
    classifier = FACTORIES[kind]()
    with pytest.raises(NotFittedError):
        classifier.predict(["late again"])
    with pytest.raises(NotFittedError):
        classifier.predict_proba(["late again"])
    with pytest.raises(NotFittedError):
        classifier.explain("late again")
    with pytest.raises(NotFittedError):
        classifier.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("kind", ["tfidf", "embedding"])
def test_fit_rejects_bad_training_data(kind: str) -> None:
    classifier = FACTORIES[kind]()
    with pytest.raises(ClassifierInputError, match="differ in length"):
        classifier.fit(["a", "b", "c"], ["x", "y"])
    with pytest.raises(ClassifierInputError, match="at least 2 distinct labels"):
        classifier.fit(["a", "b"], ["x", "x"])
    with pytest.raises(ClassifierInputError, match=r"labels\[1\]"):
        classifier.fit(["a", "b"], ["x", ""])


def test_a_class_bias_survives_save_and_load_and_old_artifacts_load_without_one(
    tiny_train: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    texts, labels = tiny_train
    fitted = TfidfClassifier(TfidfConfig(min_df=1, class_bias=True)).fit(texts, labels)
    assert fitted.class_bias_ is not None and fitted.class_bias_[0] == 0.0
    fitted.save(tmp_path / "model")
    loaded = load_classifier(tmp_path / "model")
    np.testing.assert_allclose(loaded.class_bias_, fitted.class_bias_)
    np.testing.assert_allclose(loaded.predict_proba(texts), fitted.predict_proba(texts))
    # an artifact written before class biases existed has no "class_bias" field
    manifest_file = tmp_path / "model" / MANIFEST_FILE
    manifest = json.loads(manifest_file.read_text())
    del manifest["class_bias"]
    manifest_file.write_text(json.dumps(manifest))
    old = load_classifier(tmp_path / "model")
    assert old.class_bias_ is None
    np.testing.assert_allclose(old.predict_proba(texts).sum(axis=1), 1.0)
