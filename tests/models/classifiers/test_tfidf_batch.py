"""TF-IDF batch paths: the fast fixed-vocabulary transform and batch explanations.

Both exist for serving throughput; each must give exactly what the per-text path gives.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from models.classifiers import ClassifierInputError, ScoredTexts
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.classifiers.tfidf_features import FastTfidf, supports
from tests.models.classifiers.conftest import make_texts

# Odd inputs for the n-gram rules: whitespace runs and tabs, one-letter words, a word longer
# than the per-word cache takes, repeated words (counts above 1), Chinese without spaces, emoji.
_ODD_TEXTS = [
    "late   late\tLATE flight",
    "a b c d",
    "x",
    "",
    "   ",
    "supercalifragilisticexpialidocious-and-then-some-more-letters-here",
    "送餐太慢了，饭都凉了 太难吃了",
    "great 😡 crew ❤ ❤",
    "Rude rude RUDE! awful... awful?",
    "it's the gate's info: gate B12, gate b12",
]


def _corpus() -> list[str]:
    texts, _ = make_texts(per_class=40, seed=7)
    return texts + _ODD_TEXTS


@pytest.mark.parametrize(
    ("analyzer", "ngrams"),
    [
        ("char_wb", (1, 5)),
        ("char_wb", (2, 4)),
        ("char_wb", (3, 3)),
        ("word", (1, 2)),
        ("word", (2, 3)),
        ("word", (1, 1)),
    ],
)
def test_fast_transform_equals_sklearn_transform(analyzer: str, ngrams: tuple[int, int]) -> None:
    corpus = _corpus()
    vectorizer = TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True, dtype=np.float32
    ).fit(corpus[:60])
    assert supports(vectorizer)
    fast = FastTfidf(vectorizer)
    for _ in range(2):  # the second pass reads the per-word cache
        expected, got = vectorizer.transform(corpus), fast.transform(corpus)
        assert expected.nnz > 0
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got.indptr, expected.indptr)
        np.testing.assert_array_equal(got.indices, expected.indices)
        np.testing.assert_array_equal(got.data, expected.data)


@pytest.mark.parametrize(("norm", "sublinear"), [("l1", True), (None, True), ("l2", False)])
def test_fast_weighting_equals_sklearn_for_every_norm(norm: str | None, sublinear: bool) -> None:
    corpus = _corpus()
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), norm=norm, sublinear_tf=sublinear
    ).fit(corpus[:60])
    assert supports(vectorizer)
    expected, got = vectorizer.transform(corpus), FastTfidf(vectorizer).transform(corpus)
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_array_equal(got.data, expected.data)


def test_unsupported_vectorizer_settings_are_not_taken_by_the_fast_path() -> None:
    vectorizer = TfidfVectorizer(analyzer="char").fit(_corpus())
    assert not supports(vectorizer)


@pytest.fixture(scope="module")
def model() -> TfidfClassifier:
    texts, labels = make_texts(per_class=40, seed=3)
    return TfidfClassifier(TfidfConfig(calibration_folds=0, min_df=1)).fit(texts, labels)


def _explain_texts() -> list[str]:
    """A few hundred texts; duplicated words and whole duplicated texts give tied weights."""
    rng = random.Random(11)
    texts, _ = make_texts(per_class=60, seed=5)
    doubled = [f"{t} {t.split()[0]} {t.split()[0]}" for t in texts[:40]]
    return texts + doubled + texts[:20] + _ODD_TEXTS[:3] + [rng.choice(texts) for _ in range(20)]


def test_batch_explanations_equal_per_text_explanations(model: TfidfClassifier) -> None:
    texts = _explain_texts()
    assert len(texts) >= 250
    labels: list[str | None] = [
        None if i % 3 == 0 else model.classes_[i % len(model.classes_)] for i in range(len(texts))
    ]
    batch = model.explain_batch(texts, labels, top_n=4)
    single = [model.explain(t, top_n=4, label=x) for t, x in zip(texts, labels, strict=True)]
    assert any(single), "the texts must have something to explain"
    assert batch == single


def test_tied_weights_keep_feature_order(model: TfidfClassifier) -> None:
    # Regression: per-text explanations sorted ties with an unstable sort; both paths are stable.
    texts = ["late late rude", "rude late late"]
    scored = model.score(texts)
    label = model.classes_[0]
    assert scored.explain([0, 1], [label, label], 5) == [
        model.explain(t, top_n=5, label=label) for t in texts
    ]


def test_explaining_a_subset_of_rows(model: TfidfClassifier) -> None:
    texts = _explain_texts()[:30]
    scored = model.score(texts)
    assert isinstance(scored, ScoredTexts) and scored.probabilities.shape[0] == 30
    rows = [29, 3, 3, 0]
    labels = [model.classes_[1]] * 4
    got = scored.explain(rows, labels, 3)
    assert got == [model.explain(texts[r], top_n=3, label=labels[0]) for r in rows]
    assert scored.explain([], [], 3) == []
    with pytest.raises(ClassifierInputError, match="not one of"):
        scored.explain([0], ["furious"], 3)


def test_scored_probabilities_equal_predict_proba(model: TfidfClassifier) -> None:
    texts = _explain_texts()
    np.testing.assert_allclose(model.score(texts).probabilities, model.predict_proba(texts))
    assert model.score([]).probabilities.shape == (0, len(model.classes_))
