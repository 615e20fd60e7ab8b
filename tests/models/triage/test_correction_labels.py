"""The labels a correction may give a field: those of the model that reads the record's language."""

from __future__ import annotations

import pytest

from models.classifiers.tfidf import TfidfClassifier
from models.triage import TaskModel, TriageEngine
from models.triage.arguments import TriageInputError
from models.triage.config import TriageConfig, default_sections


def _engine(zh: TfidfClassifier, en: TfidfClassifier) -> TriageEngine:
    config = TriageConfig.from_mapping(default_sections())
    models = {
        "sentiment": {"zh": TaskModel(zh, "zh-sent", "1"), "en": TaskModel(en, "en-sent", "1")}
    }
    return TriageEngine(models, config)  # type: ignore[arg-type]


def test_a_label_the_records_language_model_lacks_is_refused(
    zh_sentiment: TfidfClassifier, en_sentiment: TfidfClassifier
) -> None:
    """Regression: `neutral` on a Chinese text was stored (the English model knows it), then
    skipped by every retrain, as the two-class Chinese model cannot learn it."""
    engine = _engine(zh_sentiment, en_sentiment)
    with pytest.raises(TriageInputError, match="sentiment of a 'zh' text: 'negative', 'positive'"):
        engine.correction_label("sentiment", "neutral", "zh")
    assert engine.correction_label("sentiment", " Neutral ", "en") == "neutral"
    assert engine.correction_label("sentiment", "positive", "zh") == "positive"
    # A language no model reads (an undetermined text) takes any served model's label.
    assert engine.correction_label("sentiment", "neutral", "und") == "neutral"
    assert engine.correction_label("sentiment", "neutral") == "neutral"


def test_each_language_is_offered_its_own_models_labels(
    zh_sentiment: TfidfClassifier, en_sentiment: TfidfClassifier
) -> None:
    engine = _engine(zh_sentiment, en_sentiment)
    offered = engine.language_choices()
    assert offered["zh"]["sentiment"] == ["negative", "positive"]
    assert offered["en"]["sentiment"] == ["negative", "neutral", "positive"]
    # What the desk offers a record is what a correction of it takes.
    for language, fields in offered.items():
        for field, labels in fields.items():
            assert [engine.correction_label(field, label, language) for label in labels] == labels
