"""The triage counters' labels are bounded: only values the served engine declares, capped.

A label taken as is from a model's classes or a detector's answer could add a series per value
for as long as the server runs; `/metrics` is open for scraping and must stay small.
"""

from __future__ import annotations

from models.triage.schema import (
    ComplaintResult,
    LabelResult,
    LanguageInfo,
    RoutingResult,
    SentimentResult,
    TriageResult,
    UrgencyResult,
)
from serving.triage_metric_labels import (
    MAX_QUEUES,
    NONE,
    OTHER,
    TriageMetricLabels,
    _capped,
)

LABELS = TriageMetricLabels(
    queues=frozenset({"general", "baggage"}),
    sentiments=frozenset({"negative", "neutral", "positive"}),
    languages=frozenset({"en", "zh"}),
    reasons=frozenset({"unsure", "Lost Luggage"}),
)


def _result(
    queue: str = "baggage",
    sentiment: str | None = "negative",
    language: str | None = "en",
    reason: str | None = "Lost Luggage",
    complaint: bool = True,
) -> TriageResult:
    return TriageResult(
        status="ok" if sentiment else "unsupported_language",
        language=LanguageInfo(code=language, confidence=1.0, method="given", supported=True),
        sentiment=(
            SentimentResult(label=sentiment, probability=0.9, band="high", probabilities={})
            if sentiment
            else None
        ),
        complaint=ComplaintResult(is_complaint=complaint, probability=0.9, threshold=0.5)
        if sentiment
        else None,
        reason=(
            LabelResult(taxonomy="t", label=reason, probability=0.9, band="high", top=[])
            if reason
            else None
        ),
        urgency=UrgencyResult(level="high", fired=[]),
        routing=RoutingResult(queue=queue, rule=None),
    )


def test_declared_values_are_labels_as_they_are() -> None:
    assert LABELS.labels(_result()) == ("baggage", "high", "negative", "en", "Lost Luggage")


def test_undeclared_values_are_other_and_missing_ones_none() -> None:
    # A language the detector named but no model serves, a class the engine did not declare.
    result = _result(queue="made_up", language="sw", reason="Bad Food")
    assert LABELS.labels(result) == (OTHER, "high", "negative", OTHER, OTHER)
    unsupported = _result(sentiment=None, language=None, reason=None)
    assert LABELS.labels(unsupported) == ("baggage", "high", NONE, NONE, None)


def test_a_message_that_is_no_complaint_has_no_reason_and_a_complaint_without_one_is_none() -> None:
    assert LABELS.labels(_result(complaint=False))[4] is None
    assert LABELS.labels(_result(reason=None))[4] == NONE


def test_a_model_with_thousands_of_classes_adds_at_most_the_cap() -> None:
    classes = [f"class-{number}" for number in range(5000)]
    kept = _capped(classes, MAX_QUEUES)
    assert len(kept) == MAX_QUEUES and kept == frozenset(classes[:MAX_QUEUES])
    labels = TriageMetricLabels(kept, LABELS.sentiments, LABELS.languages, LABELS.reasons)
    seen = {labels.labels(_result(queue=name))[0] for name in classes}
    assert len(seen) == MAX_QUEUES + 1 and OTHER in seen
