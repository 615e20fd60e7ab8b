"""TF-IDF specifics: Chinese via character n-grams, explanations, config validation."""

from __future__ import annotations

import pytest

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.config import ConfigError

_ZH_NEGATIVE = ["送餐太慢了", "味道很难吃", "太慢了而且凉了", "难吃不会再点", "很慢很难吃"]
_ZH_POSITIVE = ["味道很好吃", "送得很快", "好吃又快", "很快很好吃", "好吃推荐"]


def test_learns_chinese_without_word_boundaries() -> None:
    texts = _ZH_NEGATIVE * 3 + _ZH_POSITIVE * 3
    labels = ["negative"] * 15 + ["positive"] * 15
    model = TfidfClassifier(TfidfConfig(calibration_folds=0)).fit(texts, labels)
    assert model.predict(["太难吃了", "非常好吃"]) == ["negative", "positive"]
    evidence = [t.term for t in model.explain("太难吃了", top_n=3)]
    assert any(term in "太难吃了" for term in evidence)
    assert any("难" in term for term in evidence)


def test_explanation_for_another_label_uses_that_label() -> None:
    texts = ["late flight", "delayed again", "great crew", "lovely staff"] * 4
    labels = ["negative", "negative", "positive", "positive"] * 4
    model = TfidfClassifier(TfidfConfig(calibration_folds=0)).fit(texts, labels)
    towards_negative = {t.term for t in model.explain("late but lovely crew", label="negative")}
    towards_positive = {t.term for t in model.explain("late but lovely crew", label="positive")}
    assert "late" in towards_negative and "late" not in towards_positive
    assert "lovely" in towards_positive and "lovely" not in towards_negative


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"char_ngrams": [3, 2]}, "char_ngrams"),
        ({"c": 0}, "c"),
        ({"class_weight": "auto"}, "class_weight"),
        ({"ngrams": [1, 2]}, "ngrams: unknown field"),
    ],
)
def test_config_errors_name_the_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        TfidfConfig.from_mapping(values)
