"""The triage pipeline end to end with the TF-IDF model on a small slice of the airline split."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from features.text import TextConfig
from features.text_splits import Task, TextSplit
from models.classifiers import load_classifier
from models.classifiers.embedding import EmbeddingConfig
from models.classifiers.ensemble import EnsembleClassifier
from models.classifiers.tfidf import TfidfConfig
from models.triage import load_triage_config
from training.triage.config import (
    EarlyExitConfig,
    EnsembleConfig,
    TriageConfig,
    load_config,
)
from training.triage.pipeline import (
    fit_and_evaluate,
    model_inputs,
    registered_name,
    train_triage,
)


@pytest.mark.integration
def test_train_logs_lineage_metrics_figures_and_registers(mirror: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=2, max_features=20_000))
    result = train_triage("sentiment", "airline-sentiment", "tfidf", config, uri, limit=800)

    assert result.registered_name == "agora-triage-sentiment-en"
    assert result.version == "1"
    assert result.trained.report.n == 200
    assert result.trained.report.accuracy > 0.6  # 800 tweets already beat the 0.63 majority

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(result.run_id)
    assert run.data.tags["agora.dataset"] == "airline-sentiment"
    assert run.data.params["split.seed"] == "42"
    assert run.data.params["split.limit"] == "800"
    assert run.data.params["tfidf.calibration_folds"] == "2"
    assert run.data.metrics["test_accuracy"] == pytest.approx(result.trained.report.accuracy)
    assert {"test_macro_f1", "test_ece", "test_f1.negative"} <= set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "evaluation")}
    assert {"evaluation/confusion_matrix.png", "evaluation/reliability_diagram.png"} <= artifacts
    assert "lineage.json" in {a.path for a in client.list_artifacts(result.run_id)}
    version = client.get_model_version("agora-triage-sentiment-en", "1")
    assert version.run_id == result.run_id
    assert version.tags["agora.task"] == "sentiment"

    # The registered pyfunc (which cleans and masks raw texts as training did) and the native
    # folder inside it give the model's own probabilities.
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    texts = ["@united lost my bag again, worst airline", "@JetBlue thank you, lovely crew!"]
    pyfunc = mlflow.pyfunc.load_model("models:/agora-triage-sentiment-en/1")
    output = pyfunc.predict(pd.DataFrame({"text": texts}))
    expected = result.trained.classifier.predict_proba(model_inputs(texts))
    classes = result.trained.classifier.classes_
    assert list(output["label"]) == [classes[i] for i in expected.argmax(axis=1)]
    np.testing.assert_allclose(output[[f"proba.{c}" for c in classes]].to_numpy(), expected)
    native = load_classifier(
        mlflow.artifacts.download_artifacts("models:/agora-triage-sentiment-en/1")
        + "/artifacts/native"
    )
    np.testing.assert_allclose(native.predict_proba(model_inputs(texts)), expected)


def test_model_inputs_are_cleaned_and_masked_as_the_engine_serves_them() -> None:
    texts = [
        "@united lost my bag, never flying United again https://t.co/x1",
        "ＪｅｔＢｌｕｅ\x00 crew   was\tgreat",  # full-width letters, a NUL, runs of whitespace
    ]
    assert model_inputs(texts) == [
        "@user lost my bag, never flying brand again http",
        "brand crew was great",
    ]
    # The training default is the engine's shipped text handling, not a copy of it.
    assert TriageConfig().text == load_triage_config().text


def test_a_text_section_in_the_config_changes_the_model_inputs(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("text:\n  masked_names: []\n  mask_urls: false\n")
    config = load_config(path)
    assert model_inputs(["@united flying United https://t.co/x1"], config.text) == [
        "@user flying United https://t.co/x1"
    ]


def _toy_split(dataset: str = "toy", language: str = "en") -> TextSplit:
    texts = ["late Zephyr flight", "lost my bag", "thanks lovely crew", "great Zephyr trip"] * 4
    labels = ["negative", "negative", "positive", "positive"] * 4
    return TextSplit(dataset, Task.SENTIMENT, language, texts, labels, texts, labels, {})


def test_training_records_its_text_settings_in_the_saved_model(tmp_path: Path) -> None:
    text = TextConfig(masked_names=("Zephyr",), mask_urls=False)
    config = TriageConfig(text=text, tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    trained = fit_and_evaluate("tfidf", _toy_split(), config)
    assert trained.classifier.text_config == text
    trained.classifier.save(tmp_path / "model")
    assert load_classifier(tmp_path / "model").text_config == text


def test_a_chinese_model_reads_traditional_chinese_as_simplified(tmp_path: Path) -> None:
    """Regression: a desk's category model trained on Simplified tickets put 帳號被盜 (Hong Kong
    and Taiwan users) under 其他 at 0.45, while 账号被盗 was 账号问题 at 0.96."""
    texts = ["账号被盗了", "登录不了账号", "会员扣了两次钱", "充值没有到账"] * 4
    labels = ["账号问题", "账号问题", "支付问题", "支付问题"] * 4
    split = TextSplit("desk", Task.CATEGORY, "zh", texts, labels, texts, labels, {})
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    trained = fit_and_evaluate("tfidf", split, config)
    assert trained.classifier.text_config is not None
    assert trained.classifier.text_config.fold_traditional_chinese is True
    trained.classifier.save(tmp_path / "model")
    model = load_classifier(tmp_path / "model")
    text = model.text_config
    assert text is not None and text.fold_traditional_chinese is True
    traditional = model.predict_proba(model_inputs(["帳號被盜了", "會員扣了兩次錢"], text))
    simplified = model.predict_proba(model_inputs(["帐号被盗了", "会员扣了两次钱"], text))
    np.testing.assert_allclose(traditional, simplified)
    # another language's model is left to the engine's own text handling, as before
    english = fit_and_evaluate("tfidf", _toy_split(), config).classifier.text_config
    assert english is not None and english.fold_traditional_chinese is None


def test_registered_names_come_from_the_served_models_table() -> None:
    assert registered_name(_toy_split("airline-sentiment")) == "agora-triage-sentiment-en"
    assert registered_name(_toy_split("waimai-10k", "zh")) == "agora-triage-sentiment-zh"
    # another dataset never takes a served name: its champion is evaluated on another split
    assert registered_name(_toy_split("toy")) == "agora-triage-sentiment-en-toy"
    assert registered_name(_toy_split("toy", "es")) == "agora-triage-sentiment-es-toy"


def test_an_ensemble_run_logs_its_early_exit_share_and_the_answers_it_changed(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = TriageConfig(
        tfidf=TfidfConfig(calibration_folds=0, min_df=1),
        embedding=EmbeddingConfig(calibration_folds=0, use_cache=False),
        ensemble=EnsembleConfig(
            members=("embedding", "tfidf"), early_exit=EarlyExitConfig(min_confidence=0.75)
        ),
    )
    # Test texts the TF-IDF member has seen (sure) and ones it has not (unsure).
    seen = _toy_split()
    unseen = ["the plane", "what a day", "my luggage went missing", "a wonderful journey"]
    split = dataclasses.replace(
        seen,
        test_texts=seen.test_texts[:4] + unseen,
        test_labels=[*seen.test_labels[:4], "negative", "positive", "negative", "positive"],
    )
    result = train_triage("sentiment", None, "ensemble", config, uri, split=split)

    ensemble = result.trained.classifier
    assert isinstance(ensemble, EnsembleClassifier)
    texts = model_inputs(split.test_texts, ensemble.text_config)
    exits = ensemble.exits(texts)
    assert 0 < exits.mean() < 1
    full = EnsembleClassifier(ensemble.members, ensemble.weights).predict_proba(texts)
    changed = int((full.argmax(axis=1) != result.trained.probabilities.argmax(axis=1)).sum())
    metrics = MlflowClient(tracking_uri=uri).get_run(result.run_id).data.metrics
    assert metrics["ensemble_exit_share"] == pytest.approx(exits.mean())
    assert metrics["ensemble_exit_changed"] == changed
    assert result.extra_metrics["ensemble_exit_changed"] == changed
