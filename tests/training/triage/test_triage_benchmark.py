"""The benchmark trains each model once per split and reuses members for the ensemble."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from features.text_splits import Task, TextSplit
from models.classifiers import load_classifier
from models.classifiers.ensemble import EnsembleClassifier
from models.classifiers.tfidf import TfidfConfig
from training.triage.benchmark import benchmark_row, benchmark_split, format_per_class
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


def test_rows_carry_per_class_f1_and_print_it_per_split() -> None:
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    split = _split()
    # "positive" test texts labelled negative: no class has a true positive left.
    wrong = dataclasses.replace(
        split, test_texts=split.test_texts[4:], test_labels=["negative"] * 4
    )
    rows = [benchmark_row(trained) for trained in benchmark_split(wrong, ["tfidf"], config)]
    assert rows[0].per_class_f1 == {"negative": 0.0, "positive": 0.0}
    rows += [benchmark_row(trained) for trained in benchmark_split(split, ["tfidf"], config)]
    assert rows[1].per_class_f1 == {"negative": 1.0, "positive": 1.0}
    table = format_per_class(rows).splitlines()
    assert table[0] == "toy/sentiment: F1 per class"
    assert table[1].split() == ["class", "tfidf", "tfidf"]
    assert table[3].split() == ["negative", "0.0000", "1.0000"]
    assert table[4].split() == ["positive", "0.0000", "1.0000"]
