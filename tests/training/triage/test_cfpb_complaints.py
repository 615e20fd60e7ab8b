"""CFPB complaint narratives (the mirror's sample): the fixed product and issue splits, a
category model's per-class F1, and that model in the engine routing narratives by product."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.text_splits import Task, load_split
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.served_models import triage_registered_name
from models.triage import TriageEngine, load_triage_config
from models.triage.task_models import TaskModel
from training.triage.config import TriageConfig
from training.triage.pipeline import fit_and_evaluate, model_inputs

# The product of each CFPB routing rule's queue (models/triage/routing.yaml).
PRODUCT_QUEUES = {
    "Credit reporting, credit repair services, or other personal consumer reports": (
        "credit_bureau_disputes"
    ),
    "Debt collection": "collections",
    "Mortgage": "mortgages",
    "Credit card or prepaid card": "cards_and_accounts",
    "Checking or savings account": "cards_and_accounts",
    "Money transfer, virtual currency, or money service": "payments",
    "Student loan": "consumer_lending",
    "Vehicle loan or lease": "consumer_lending",
    "Payday loan, title loan, or personal loan": "consumer_lending",
}
ESCALATIONS = {"legal_escalation", "safety_escalation"}


@pytest.mark.integration
def test_cfpb_splits_keep_narrative_rows_of_products_and_issues(mirror: Path) -> None:
    category = load_split("cfpb-complaints", Task.CATEGORY)
    reason = load_split("cfpb-complaints", Task.REASON)
    # 1,532 narratives; retired products with fewer than 5 rows are dropped.
    assert set(category.classes) == set(PRODUCT_QUEUES)
    assert len(category.train_texts) + len(category.test_texts) <= 1532
    assert reason.lineage["label_column"] == "reason"
    assert reason.lineage["only_negative"] is False  # every CFPB row is a complaint
    assert "Incorrect information on your report" in reason.classes
    assert set(reason.test_labels) <= set(reason.classes)
    assert all(text.strip() for text in reason.train_texts + reason.test_texts)
    assert triage_registered_name(Task.CATEGORY, category.language, category.dataset) == (
        "agora-triage-category-cfpb-complaints"
    )


@pytest.mark.integration
def test_cfpb_category_model_answers_products_and_routes_them(mirror: Path) -> None:
    split = load_split("cfpb-complaints", Task.CATEGORY)
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=2, max_features=50_000))
    trained = fit_and_evaluate("tfidf", split, config)
    report = trained.report
    assert set(report.per_class_f1) == set(split.classes)
    credit = "Credit reporting, credit repair services, or other personal consumer reports"
    assert report.per_class_f1[credit] > 0.8  # 761 of the 1,532 narratives
    assert report.macro_f1 > 0.4

    # Complaints by construction: a sentiment model that reads these narratives as negative,
    # so the product (not the praise route) decides the queue.
    negatives = model_inputs(split.train_texts[:40])
    positives = ["thank you, great service", "very happy with the quick help"] * 5
    sentiment = TfidfClassifier(TfidfConfig(min_df=1, calibration_folds=0)).fit(
        negatives + positives, ["negative"] * len(negatives) + ["positive"] * len(positives)
    )
    name = "agora-triage-category-cfpb-complaints"
    engine = TriageEngine(
        {"sentiment": sentiment, "category": TaskModel(trained.classifier, name, "1")},
        load_triage_config(),
    )
    texts = split.test_texts[:60]
    results = engine.triage_batch(texts, languages=["en"] * len(texts))

    routed = 0
    for result in results:
        assert result.category is not None
        label = result.category.label
        assert label in split.classes or label == "unsure"
        assert any(model.name == name for model in result.models)
        if result.routing.queue in ESCALATIONS or label == "unsure":
            continue
        assert result.routing.queue == PRODUCT_QUEUES[label], (label, result.routing)
        assert result.routing.rule is not None and result.routing.rule.startswith("cfpb_")
        routed += 1
    assert routed >= len(texts) // 2
