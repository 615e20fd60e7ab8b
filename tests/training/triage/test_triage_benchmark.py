"""The benchmark trains each model once per split and reuses members for the ensemble."""

from __future__ import annotations

from pathlib import Path

from features.text_splits import Task, TextSplit
from models.classifiers import load_classifier
from models.classifiers.ensemble import EnsembleClassifier
from models.classifiers.tfidf import TfidfConfig
from training.triage.benchmark import benchmark_split
from training.triage.config import EnsembleConfig, TriageConfig


def _split() -> TextSplit:
    negative = ["late flight again", "lost my bag", "rude crew today", "delayed and cancelled"]
    positive = ["thanks lovely crew", "great smooth flight", "best service ever", "happy trip"]
    texts = (negative + positive) * 3
    labels = (["negative"] * 4 + ["positive"] * 4) * 3
    return TextSplit("toy", Task.SENTIMENT, "en", texts, labels, texts[:8], labels[:8], {})


def test_ensemble_reuses_the_members_trained_for_the_split(tmp_path: Path) -> None:
    config = TriageConfig(
        tfidf=TfidfConfig(calibration_folds=2, min_df=1),
        ensemble=EnsembleConfig(members=("tfidf",)),
    )
    results = benchmark_split(_split(), ["tfidf", "ensemble"], config, save_dir=tmp_path)
    by_model = {r.model: r for r in results}
    assert list(by_model) == ["tfidf", "ensemble"]
    ensemble = by_model["ensemble"].classifier
    assert isinstance(ensemble, EnsembleClassifier)
    assert ensemble.members[0] is by_model["tfidf"].classifier  # not trained a second time
    assert by_model["ensemble"].fit_seconds == by_model["tfidf"].fit_seconds
    assert by_model["tfidf"].report.accuracy == 1.0
    saved = load_classifier(tmp_path / "toy-sentiment" / "ensemble")
    assert saved.classes_ == ["negative", "positive"]


def test_members_not_asked_for_are_trained_but_not_reported() -> None:
    config = TriageConfig(
        tfidf=TfidfConfig(calibration_folds=0, min_df=1),
        ensemble=EnsembleConfig(members=("tfidf",)),
    )
    results = benchmark_split(_split(), ["ensemble"], config)
    assert [r.model for r in results] == ["ensemble"]
