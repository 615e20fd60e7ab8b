"""`agora models promote --rescore`: a recommender champion evaluated on other data is scored on
the candidate's split first, so the gate compares like with like instead of refusing.

Regression (a user trial): the gate's refusal said "re-evaluate both on the same data" with no
command to do it; since repeated pairs are split together, every champion trained on data with
repeats was evaluated on other pairs than its successors.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli.main import app
from data.imported import import_file
from features.text_splits import load_split
from models.classifiers import load_classifier
from models.classifiers.tfidf import TfidfConfig
from models.recommenders import load_recommender
from training.promotion import champion, promote
from training.recommender.config import RecommenderRunConfig, SplitConfig
from training.recommender.evaluate import evaluate_recommender
from training.recommender.pipeline import train_recommender
from training.recommender.steps import prepare_split
from training.retrain.common import champion_artifact
from training.tracking import configure_tracking
from training.triage.config import TriageConfig
from training.triage.pipeline import evaluate, train_triage

runner = CliRunner()
NAME = "agora-recommender-rescore-synth"


@pytest.fixture
def two_versions() -> tuple[str, str]:
    """v1 (popularity, split seed 1) is champion; v2 (ALS, split seed 2) was scored elsewhere."""
    synth = ["data", "synth", "--interactions", "6000", "--name", "rescore-synth"]
    made = runner.invoke(app, synth)
    assert made.exit_code == 0, made.output
    configure_tracking(None)
    first = train_recommender(
        "rescore-synth", RecommenderRunConfig(model="popularity", split=SplitConfig(seed=1))
    )
    promote(MlflowClient(), NAME, first.model_version)
    als = {"factors": 16, "iterations": 10, "regularization": 0.05}
    second = train_recommender(
        "rescore-synth", RecommenderRunConfig(model="als", params=als, split=SplitConfig(seed=2))
    )
    return first.model_version, second.model_version


def test_a_champion_scored_on_other_data_is_rescored_and_compared(
    two_versions: tuple[str, str],
) -> None:
    first, second = two_versions
    refused = runner.invoke(app, ["models", "promote", NAME, second])
    assert refused.exit_code != 0 and "--rescore" in refused.output, refused.output

    # What the champion scores on the candidate's split, computed here independently.
    data = prepare_split("rescore-synth", SplitConfig(seed=2))
    with champion_artifact(NAME) as found:
        assert found is not None and found[0] == first
        expected = evaluate_recommender(load_recommender(found[1]), data.train, data.test, k=10)

    result = runner.invoke(app, ["models", "promote", NAME, second, "--rescore"])
    assert f"ndcg_at_10 {expected.metrics['ndcg@10']:.4f}" in result.output, result.output
    assert result.exit_code == 0, result.output  # ALS beats popularity on the same pairs
    current = champion(MlflowClient(), NAME)
    assert current is not None and current.version == second


def _triage_texts(tmp_path: Path) -> str:
    """An imported sentiment set whose fixed split the rescore can read again."""
    bad = ["late again", "lost my bag", "rude staff", "cancelled twice", "seat broken"]
    good = ["thanks crew", "lovely trip", "great seats", "on time", "kind staff"]
    rows = [(f"{t} {n}", "negative") for t in bad for n in range(8)]
    rows += [(f"{t} {n}", "positive") for t in good for n in range(8)]
    path = tmp_path / "rescore-texts.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    import_file(path, "labelled-text", {}, "rescore-texts")
    return "rescore-texts"


def test_a_triage_champion_evaluated_on_other_texts_is_rescored_on_the_candidates(
    tmp_path: Path,
) -> None:
    """Regression (a user trial): after `agora retrain triage` (evaluated on held-out
    corrections too), a plain training of the same task could only be promoted with --force."""
    dataset = _triage_texts(tmp_path)
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    split = load_split(dataset, "sentiment")
    name = f"agora-triage-sentiment-{split.language}-{dataset}"
    # The champion as a retrain leaves it: evaluated on the test part plus a correction.
    retrained = dataclasses.replace(
        split,
        test_texts=[*split.test_texts, "my bag never came"],
        test_labels=[*split.test_labels, "negative"],
    )
    first = train_triage("sentiment", None, "tfidf", config, name=name, split=retrained)
    promote(MlflowClient(), name, first.version)
    second = train_triage("sentiment", dataset, "tfidf", config, name=name)
    refused = runner.invoke(app, ["models", "promote", name, second.version])
    assert refused.exit_code == 1 and "--rescore" in refused.output, refused.output

    with champion_artifact(name) as found:
        assert found is not None
        expected = evaluate("tfidf", load_classifier(found[1]), split).report.macro_f1
    result = runner.invoke(app, ["models", "promote", name, second.version, "--rescore"])
    assert f"macro_f1 {expected:.4f}" in result.output, result.output
    assert result.exit_code == 0, result.output  # the same model and data: as good as the champion
    current = champion(MlflowClient(), name)
    assert current is not None and current.version == second.version


def test_a_triage_candidate_evaluated_on_texts_no_dataset_holds_is_refused_in_a_sentence(
    tmp_path: Path,
) -> None:
    dataset = _triage_texts(tmp_path)
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    split = load_split(dataset, "sentiment")
    name = f"agora-triage-sentiment-{split.language}-{dataset}"
    first = train_triage("sentiment", dataset, "tfidf", config, name=name)
    promote(MlflowClient(), name, first.version)
    limited = dataclasses.replace(
        split, test_texts=split.test_texts[:4], test_labels=split.test_labels[:4]
    )
    second = train_triage("sentiment", None, "tfidf", config, name=name, split=limited)
    result = runner.invoke(app, ["models", "promote", name, second.version, "--rescore"])
    assert result.exit_code == 2, result.output
    assert "cannot be read again" in result.output and "--force" in result.output, result.output
    current = champion(MlflowClient(), name)
    assert current is not None and current.version == first.version
