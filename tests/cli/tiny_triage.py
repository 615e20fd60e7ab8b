"""A tiny served sentiment champion for the `agora batch triage` tests: six English texts, a
TF-IDF fitted on them and saved, standing for the registry's champion."""

from __future__ import annotations

from pathlib import Path

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from training.batch import TriageChampion

SENTIMENT = [
    ("my bag was lost and nobody helps", "negative"),
    ("terrible service, flight delayed again", "negative"),
    ("great crew, thank you so much", "positive"),
    ("love this airline, best flight ever", "positive"),
    ("what time does the flight board", "neutral"),
    ("is there wifi on this plane", "neutral"),
]


def tiny_sentiment_champion(folder: Path) -> TriageChampion:
    """The six texts' TF-IDF, saved under `folder`, as the sentiment-en slot's champion."""
    texts, labels = zip(*SENTIMENT, strict=True)
    model = TfidfClassifier(TfidfConfig(min_df=1, calibration_folds=0, c=20.0))
    saved = model.fit(list(texts), list(labels)).save(folder / "en")
    return TriageChampion("sentiment-en", saved, "tiny-en", "1")
