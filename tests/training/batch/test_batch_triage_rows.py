"""The batch triage table: one row per text, as /triage_batch answers it."""

from __future__ import annotations

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.triage import TriageEngine
from training.batch.triage import triage_rows


def test_the_table_says_when_a_question_overruled_the_model() -> None:
    """Regression: a batch table showed is_complaint false beside P(negative) 0.9 with no column
    saying that the question rule, not the model, decided it."""
    rows = [
        ("请问怎么还没送到，太慢了", "negative"),
        ("请问会员续费怎么扣了两次钱", "negative"),
        ("非常好吃，送餐很快", "positive"),
        ("味道不错，下次还点", "positive"),
    ]
    texts, labels = zip(*rows, strict=True)
    model = TfidfClassifier(TfidfConfig(min_df=1, calibration_folds=0, c=20.0))
    model.fit(list(texts), list(labels))
    engine = TriageEngine({"sentiment": {"zh": model}}, default_language="zh")  # type: ignore[dict-item]
    table = triage_rows(engine.triage_batch(["请问会员怎么续费？", "会员续费扣了两次钱，太慢了"]))
    assert table["complaint_probability"].iloc[0] >= 0.5
    assert list(table["is_complaint"]) == [False, True]
    assert list(table["complaint_source"]) == ["inquiry", "model"]
