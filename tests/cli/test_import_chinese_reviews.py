"""A Chinese review CSV with 0/1 labels and no language column, imported as a new user would:
it must train as well as a plain character TF-IDF + logistic regression on the same split."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from typer.testing import CliRunner

from cli.main import app
from features.text_splits import load_split
from training.triage.config import TriageConfig
from training.triage.pipeline import fit_and_evaluate


@pytest.mark.integration
@pytest.mark.slow
def test_imported_chinese_set_matches_a_plain_character_baseline(
    mirror: Path, tmp_path: Path
) -> None:
    # Regression (issue 15): without a language column the set was registered as "und".
    path = tmp_path / "reviews-zh.csv"  # label,review: no language column
    shutil.copy(mirror / "chinese-waimai_10k" / "waimai_10k.csv", path)
    result = CliRunner().invoke(
        app,
        [
            "data",
            "import",
            str(path),
            "--kind",
            "labelled-text",
            "--map",
            "text=review",
            "--label-map",
            "0=negative,1=positive",
            "--name",
            "reviews-zh-it",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "language (detected): zh" in result.output

    split = load_split("reviews-zh-it", "sentiment")
    assert split.language == "zh"
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
    plain = LogisticRegression(max_iter=2000).fit(
        vectorizer.fit_transform(split.train_texts), split.train_labels
    )
    baseline = accuracy_score(
        split.test_labels, plain.predict(vectorizer.transform(split.test_texts))
    )
    trained = fit_and_evaluate("tfidf", split, TriageConfig())
    assert trained.report.accuracy >= baseline - 0.005
