"""`agora models promote --rescore`: a recommender champion evaluated on other data is scored on
the candidate's split first, so the gate compares like with like instead of refusing.

Regression (a user trial): the gate's refusal said "re-evaluate both on the same data" with no
command to do it; since repeated pairs are split together, every champion trained on data with
repeats was evaluated on other pairs than its successors.
"""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli.main import app
from features.text_splits import Task, TextSplit
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
from training.triage.pipeline import train_triage

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


def test_rescore_of_a_triage_model_is_refused_with_the_command_that_does_it() -> None:
    texts = ["late again", "lost my bag", "thanks crew", "lovely trip"] * 4
    labels = ["negative", "negative", "positive", "positive"] * 4
    split = TextSplit("toy", Task.SENTIMENT, "en", texts, labels, texts, labels, {})
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    name = "agora-triage-sentiment-en-toy"
    versions = [
        train_triage("sentiment", None, "tfidf", config, name=name, split=split).version
        for _ in range(2)
    ]
    promote(MlflowClient(), name, versions[0])
    result = runner.invoke(app, ["models", "promote", name, versions[1], "--rescore"])
    assert result.exit_code == 2, result.output
    assert "agora retrain triage" in result.output, result.output
    current = champion(MlflowClient(), name)
    assert current is not None and current.version == versions[0]
