"""Choosing the English sentiment champion: the out-of-domain checks, the rule, the run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from features.text_splits import Task, TextSplit
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from training.tracking import configure_tracking
from training.triage.config import TriageConfig
from training.triage.selection import SelectionPolicy, choose, select_sentiment_champion
from training.triage.transfer import (
    TransferCheck,
    TransferReport,
    binary_predictions,
    complaint_narratives,
    load_checks,
    score_transfer,
    stated_satisfaction,
)

GOOD = ["great crew thanks", "lovely flight, thank you", "awesome service, great seats"]
BAD = ["lost my bag, awful", "delayed again, terrible", "rude agent, worst service"]
NEUTRAL = ["what time is boarding", "is there wifi on board", "which gate for the flight"]


def _sentiment_model() -> TfidfClassifier:
    texts = (GOOD + BAD + NEUTRAL) * 4
    labels = (["positive"] * 3 + ["negative"] * 3 + ["neutral"] * 3) * 4
    return TfidfClassifier(TfidfConfig(calibration_folds=0, min_df=1)).fit(texts, labels)


def test_stated_satisfaction_keeps_explicit_feelings_with_their_polarity() -> None:
    frame = pd.DataFrame(
        {
            "text": [
                "I'm happy with the service, help me leave a review",
                "I am not happy with the service, can I leave a review?",  # negated: out
                "where do I write a comment?",  # no stated feeling: out
                "I don't like the service, file a complaint",
                "im discontent with the service, lodge a complaint",
                "I want to lodge a complaint",  # no stated feeling: out
                "I'm happy with my order, track it",  # not a review request: out
            ],
            "label": ["review", "review", "review", "complaint", "complaint", "complaint", "x"],
        }
    )
    check = stated_satisfaction(frame)
    assert check.texts == [
        "I'm happy with the service, help me leave a review",
        "I don't like the service, file a complaint",
        "im discontent with the service, lodge a complaint",
    ]
    assert check.labels == ["positive", "negative", "negative"]


def test_complaint_narratives_are_all_negative_and_skip_empty_ones() -> None:
    frame = pd.DataFrame({"text": ["I was charged twice", None, "", "They never answered"]})
    check = complaint_narratives(frame, limit=5)
    assert check.texts == ["I was charged twice", "They never answered"]
    assert check.labels == ["negative", "negative"]
    assert complaint_narratives(frame, limit=1).texts == ["I was charged twice"]


def test_transfer_is_balanced_accuracy_per_check_and_their_mean() -> None:
    model = _sentiment_model()
    assert binary_predictions(model, ["great crew", "awful, delayed"]) == ["positive", "negative"]
    checks = [
        TransferCheck(
            "mixed",
            ["great thanks", "lovely crew", "terrible agent", "awful"],
            ["positive", "positive", "negative", "negative"],
        ),
        TransferCheck("negatives", ["worst, lost bag", "great, thank you"], ["negative"] * 2),
    ]
    report = score_transfer(model, checks, list)
    assert report.scores["mixed"] == pytest.approx(1.0)
    assert report.scores["negatives"] == pytest.approx(0.5)  # the thankful one reads positive
    assert report.score == pytest.approx(0.75)
    assert report.sizes == {"mixed": 4, "negatives": 2}


def _candidate(kind: str, accuracy: float, macro_f1: float, speed: float, transfer: float) -> Any:
    report = SimpleNamespace(accuracy=accuracy, macro_f1=macro_f1, n=2886)
    run = SimpleNamespace(version="1", trained=SimpleNamespace(report=report))
    from training.triage.selection import Candidate

    return Candidate(kind, run, speed, TransferReport({"check": transfer}, {"check": 10}))  # type: ignore[arg-type]


POLICY = SelectionPolicy(min_accuracy=0.84, min_macro_f1=0.80, min_texts_per_second=250)


def test_the_best_transfer_wins_among_those_meeting_the_bar_and_the_speed() -> None:
    tfidf = _candidate("tfidf", 0.82, 0.78, 5000, 0.90)  # transfers best but misses the bar
    slow = _candidate("big", 0.86, 0.82, 100, 0.95)  # too slow
    finetune = _candidate("finetune", 0.841, 0.801, 400, 0.88)
    ensemble = _candidate("ensemble", 0.845, 0.805, 300, 0.85)
    chosen, reason = choose([tfidf, slow, finetune, ensemble], POLICY)
    assert chosen is finetune
    assert "transfers best (0.880)" in reason and "ensemble" in reason


def test_without_a_candidate_at_the_bar_transfer_decides_among_in_domain_ties() -> None:
    tfidf = _candidate("tfidf", 0.82, 0.78, 5000, 0.95)  # 1.4 points behind: not a tie
    finetune = _candidate("finetune", 0.8389, 0.7941, 400, 0.918)
    ensemble = _candidate("ensemble", 0.8420, 0.7984, 300, 0.863)
    chosen, reason = choose([tfidf, finetune, ensemble], POLICY)
    assert chosen is finetune  # 0.4 point behind the ensemble: within one standard error
    assert reason.startswith("no candidate met accuracy >= 0.84")
    assert "finetune, ensemble are within one standard error (0.7 points)" in reason
    chosen, _ = choose([tfidf, _candidate("finetune", 0.83, 0.78, 400, 0.80), ensemble], POLICY)
    assert chosen is ensemble  # the tied one that transfers best
    chosen, reason = choose([tfidf], POLICY)
    assert chosen is tfidf and "no other is within one standard error" in reason
    chosen, reason = choose([_candidate("slow", 0.9, 0.9, 10, 0.9)], POLICY)
    assert chosen.kind == "slow" and "no candidate reached 250 texts/s" in reason
    with pytest.raises(ValueError, match="no candidates"):
        choose([], POLICY)


def _toy_split() -> TextSplit:
    texts = (GOOD + BAD + NEUTRAL) * 6
    labels = (["positive"] * 3 + ["negative"] * 3 + ["neutral"] * 3) * 6
    return TextSplit("toy-sentiment", Task.SENTIMENT, "en", texts, labels, texts[:18], labels[:18])


def test_a_short_budget_trains_tfidf_only_registers_it_with_its_figures_and_says_why(
    tmp_path: Path,
) -> None:
    uri = configure_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}")
    said: list[str] = []
    checks = [TransferCheck("toy", ["great thanks", "awful delay"], ["positive", "negative"])]
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    policy = SelectionPolicy(budget_minutes=1.0)  # below what a fine-tune needs
    selection = select_sentiment_champion(
        "toy-sentiment",
        config,
        checks,
        "agora-test-sentiment",
        policy,
        said.append,
        split=_toy_split(),
    )
    assert [c.kind for c in selection.candidates] == ["tfidf"]
    assert selection.chosen.kind == "tfidf"
    assert any(s.startswith("finetune (seed 42):") for s in selection.skipped)
    assert any(s.startswith("ensemble:") for s in selection.skipped)
    assert "candidate tfidf" in said[0]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version("agora-test-sentiment", selection.chosen.run.version)
    metrics = client.get_run(version.run_id).data.metrics
    assert metrics["transfer_score"] == pytest.approx(selection.chosen.transfer.score)
    assert metrics["transfer_toy"] == pytest.approx(1.0)
    assert metrics["texts_per_second_one_core"] > 0
    assert np.isfinite(metrics["test_macro_f1"])


class _Clock:
    """`time.monotonic` for the selection, moved by the stand-in fine-tunes."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _with_stand_in_fine_tunes(
    monkeypatch: pytest.MonkeyPatch, minutes_each: float
) -> tuple[_Clock, list[int]]:
    """Fine-tunes replaced by TF-IDF fits (one C per seed) that take `minutes_each` of a fake
    clock: the selection's budgeting is what is tested, not fine-tuning."""
    from training.triage import pipeline, selection

    clock, seeds = _Clock(), []

    def fit(model: str, split: TextSplit, config: TriageConfig) -> Any:
        if model != "finetune":
            return pipeline.fit_and_evaluate(model, split, config)
        seeds.append(config.finetune.seed)
        clock.now += minutes_each * 60
        stand_in = TfidfClassifier(
            TfidfConfig(calibration_folds=0, min_df=1, c=1.0 + config.finetune.seed % 7)
        )
        trained = pipeline.fit_and_evaluate("tfidf", split, config, classifier=stand_in)
        return dataclasses.replace(trained, model="finetune", fit_seconds=minutes_each * 60)

    monkeypatch.setattr(selection, "fit_and_evaluate", fit)
    monkeypatch.setattr(selection.time, "monotonic", clock)
    return clock, seeds


def _select(tmp_path: Path, budget_minutes: float, said: list[str]) -> Any:
    configure_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}")
    checks = [TransferCheck("toy", ["great thanks", "awful delay"], ["positive", "negative"])]
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    return select_sentiment_champion(
        "toy-sentiment",
        config,
        checks,
        "agora-test-sentiment",
        SelectionPolicy(budget_minutes=budget_minutes),
        said.append,
        split=_toy_split(),
    )


def test_the_seeded_ensemble_adds_the_configs_other_seeds_the_budget_leaves_time_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was: the only ensemble candidate had one fine-tune (airline transfer 0.858; with a second
    # seed, as the default ensemble has, 0.940).
    _, seeds = _with_stand_in_fine_tunes(monkeypatch, minutes_each=8)
    from training.triage import selection as module

    souped: list[list[Any]] = []

    def stand_in_soup(first: Any, others: Any, split: TextSplit, skipped: list[str]) -> Any:
        souped.append([first.classifier, *(other.classifier for other in others)])
        return first  # the averaging itself is tested in tests/models/classifiers

    monkeypatch.setattr(module, "_seed_soup", stand_in_soup)
    said: list[str] = []
    selection = _select(tmp_path, 20, said)
    assert seeds == [42, 43]  # the soup reuses the seeded ensemble's fine-tunes
    kinds = [c.kind for c in selection.candidates]
    assert kinds == ["tfidf", "finetune", "ensemble", "ensemble-seeds", "finetune-soup"]
    assert souped == [list(selection.candidates[3].run.trained.classifier.members[:2])]
    one_seed, seeded = (c.run.trained.classifier for c in selection.candidates[2:4])
    assert len(one_seed.members) == 2  # seed 42 (the fine-tune candidate), TF-IDF
    assert len(seeded.members) == 3  # seed 42, seed 43, TF-IDF
    assert seeded.members[0] is one_seed.members[0]  # the candidate's fine-tune, not retrained
    assert any(line.startswith("   ensemble member: finetune seed 43") for line in said)
    assert not selection.skipped


def test_a_second_seed_without_time_left_is_skipped_with_why_and_the_ensemble_still_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, seeds = _with_stand_in_fine_tunes(monkeypatch, minutes_each=16)
    selection = _select(tmp_path, 20, [])
    assert seeds == [42]  # 4 of 20 minutes left: seed 42 took 16 (+1 to export)
    assert selection.skipped == [
        "finetune (seed 43): 4.0 of the budget's minutes left, it needs 17",
        "ensemble-seeds: no fine-tune of another seed (see above)",
        "finetune-soup: no fine-tune of another seed (see above)",
    ]
    ensemble = selection.candidates[-1]
    assert ensemble.kind == "ensemble" and len(ensemble.run.trained.classifier.members) == 2


def test_a_second_seed_is_not_started_with_less_time_than_the_first_one_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Guards `make demo`: 6 of its 15 minutes left after a 9-minute fine-tune started a second
    # one with a 5-minute loop, cut short and weaker than the member it is averaged with.
    _, seeds = _with_stand_in_fine_tunes(monkeypatch, minutes_each=9)
    selection = _select(tmp_path, 15, [])
    assert seeds == [42]
    assert (
        selection.skipped[0] == "finetune (seed 43): 6.0 of the budget's minutes left, it needs 10"
    )


def test_a_check_whose_dataset_cannot_be_read_is_left_out_with_its_reason() -> None:
    def load(name: str) -> pd.DataFrame:
        if name == "bitext-intents":
            raise RuntimeError("Bitext needs a manual download step")
        return pd.DataFrame({"text": ["They charged me twice"]})

    checks, missing = load_checks(load)
    assert [c.name for c in checks] == ["complaint_narratives"]
    assert missing == ["bitext-intents: Bitext needs a manual download step"]
    empty = TransferReport({}, {})
    assert empty.score == 0.0 and "not measured" in empty.describe()


def test_a_model_without_a_positive_class_has_no_transfer_to_measure() -> None:
    texts, labels = (BAD + NEUTRAL) * 4, (["negative"] * 3 + ["neutral"] * 3) * 4
    model = TfidfClassifier(TfidfConfig(calibration_folds=0, min_df=1)).fit(texts, labels)
    checks = [TransferCheck("toy", ["great thanks", "awful delay"], ["positive", "negative"])]
    assert score_transfer(model, checks, list).scores == {}
