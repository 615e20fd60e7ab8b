"""TF-IDF reads Chinese and Japanese as characters, whatever the language tag; English tokens and
artifacts saved before the change are untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from data import schemas as S
from features.text_splits import SplitSpec, Task, split_frame
from models.artifacts import MANIFEST_FILE
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.classifiers.tfidf_features import CJK_TOKEN_PATTERN, FastTfidf, supports
from tests.models.classifiers.conftest import make_texts

_ZH_NEGATIVE = [
    "送餐太慢了，饭都凉了",
    "味道很难吃",
    "太慢了而且凉了",
    "难吃不会再点",
    "很慢很难吃",
]
_ZH_POSITIVE = ["味道很好吃", "送得很快", "好吃又快，推荐", "很快很好吃", "好吃推荐"]
_MIXED = [
    "送餐太慢了 ok",
    "ラーメンが美味しい",
    "abc中文de",
    "한국어 단어",
    "late flight 太慢",
    "x",
]


def _und_split() -> tuple[list[str], list[str]]:
    """The train part of a Chinese split with no language column (language 'und' before)."""
    texts = [f"{t}{'！' * (i // 10)}" for i, t in enumerate((_ZH_NEGATIVE + _ZH_POSITIVE) * 4)]
    labels = (["negative"] * 5 + ["positive"] * 5) * 4
    frame = pd.DataFrame({S.TEXT: texts, S.LABEL: labels, S.LANGUAGE: ""})
    split = split_frame(frame, SplitSpec("und-zh", Task.SENTIMENT, S.LABEL))
    return split.train_texts, split.train_labels


def test_chinese_without_a_language_tag_is_featurised_by_characters() -> None:
    # Regression (issue 15): word n-grams over unsegmented Chinese were whole clauses.
    texts, labels = _und_split()
    model = TfidfClassifier(TfidfConfig(calibration_folds=0, min_df=1)).fit(texts, labels)
    word = next(v for v in model._vectorizers if v.analyzer == "word")
    assert word.token_pattern == CJK_TOKEN_PATTERN
    tokens = [term.split(" ") for term in word.vocabulary_]
    assert all(len(token) == 1 for gram in tokens for token in gram)  # single characters
    assert "难 吃" in word.vocabulary_ and "味道很难吃" not in word.vocabulary_
    evidence = [t.term for t in model.explain("太难吃了", top_n=3)]
    assert evidence and all(" " not in term for term in evidence)  # read as the text reads


def test_tokens_of_text_without_han_or_kana_equal_the_default_ones() -> None:
    texts, _ = make_texts(per_class=20, seed=5)
    texts += ["it's the gate's info: B12, b12 naïve café_x", "한국어 단어", "a b c"]
    default = TfidfVectorizer(ngram_range=(1, 2)).fit(texts)
    cjk = TfidfVectorizer(ngram_range=(1, 2), token_pattern=CJK_TOKEN_PATTERN).fit(texts)
    assert default.vocabulary_ == cjk.vocabulary_


def test_fast_transform_equals_sklearn_with_the_cjk_pattern() -> None:
    corpus = _ZH_NEGATIVE + _ZH_POSITIVE + _MIXED
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), token_pattern=CJK_TOKEN_PATTERN, sublinear_tf=True, dtype=np.float32
    ).fit(corpus)
    assert supports(vectorizer)
    expected, got = vectorizer.transform(corpus), FastTfidf(vectorizer).transform(corpus)
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_array_equal(got.data, expected.data)


def test_artifact_saved_before_the_pattern_was_recorded_loads_with_the_default(
    tmp_path: Path,
) -> None:
    texts, labels = make_texts(per_class=20, seed=4)
    model = TfidfClassifier(TfidfConfig(calibration_folds=0, min_df=1)).fit(texts, labels)
    model.save(tmp_path / "m")
    manifest_file = tmp_path / "m" / MANIFEST_FILE
    manifest = json.loads(manifest_file.read_text())
    word_params = manifest["vectorizers"][0]["params"]
    assert word_params["token_pattern"] == CJK_TOKEN_PATTERN
    del word_params["token_pattern"]
    manifest_file.write_text(json.dumps(manifest))
    old = TfidfClassifier.load(tmp_path / "m")
    assert old._vectorizers[0].token_pattern == TfidfVectorizer().token_pattern
    assert supports(old._vectorizers[0])
    probe, _ = make_texts(per_class=5, seed=9)
    np.testing.assert_allclose(old.predict_proba(probe), model.predict_proba(probe))


@pytest.mark.parametrize("text", ["送餐太慢了", "late flight 太慢"])
def test_saved_cjk_model_scores_identically_after_loading(text: str, tmp_path: Path) -> None:
    texts, labels = _und_split()
    model = TfidfClassifier(TfidfConfig(calibration_folds=0, min_df=1)).fit(texts, labels)
    model.save(tmp_path / "zh")
    loaded = TfidfClassifier.load(tmp_path / "zh")
    np.testing.assert_array_equal(loaded.predict_proba([text]), model.predict_proba([text]))
