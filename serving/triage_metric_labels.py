"""Bounded labels for the triage counters: what a served engine can answer, capped.

A Prometheus series per label value lives as long as the server: a label taken from a model's
classes or a detector's answer as is could grow without end (a category model trained on
thousands of products, a detector naming any of ~75 languages, a language a client sends).
Each label here takes only the values the served engine declares (the routing table's queues,
the models' classes, the languages with a sentiment model), at most a fixed number of them, and
counts anything else as `other`; a field triage left empty is `none`. No value of a request
(a customer or item id, the text) is ever a label.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from models.triage import TriageEngine
from models.triage.schema import UNSURE, TriageResult
from serving import ops_metrics

OTHER: Final = "other"
NONE: Final = "none"
# At most this many values of each label; a routing table or model with more counts the rest as
# `other`. Worst case: 40 queues x 4 urgencies x 8 sentiments x 16 languages, though a result's
# queue, sentiment and language go together, so the series that occur are far fewer.
MAX_QUEUES: Final = 40
MAX_SENTIMENTS: Final = 8
MAX_LANGUAGES: Final = 16
MAX_REASONS: Final = 40


def _capped(values: Iterable[str], limit: int) -> frozenset[str]:
    """The first `limit` distinct values, in the order given."""
    return frozenset(list(dict.fromkeys(values))[:limit])


def _bounded(value: str | None, allowed: frozenset[str]) -> str:
    if value is None:
        return NONE
    return value if value in allowed else OTHER


@dataclass(frozen=True)
class TriageMetricLabels:
    """The label values one served engine may put on the triage counters."""

    queues: frozenset[str]
    sentiments: frozenset[str]
    languages: frozenset[str]
    reasons: frozenset[str]

    @classmethod
    def of(cls, engine: TriageEngine) -> TriageMetricLabels:
        """The engine's queues (default queue first, then the table's order), sentiment and
        reason classes, and served languages, each capped."""
        choices = engine.label_choices()
        routing = engine.config.routing
        return cls(
            queues=_capped([routing.default_queue, *(r.queue for r in routing.rules)], MAX_QUEUES),
            sentiments=_capped(choices.get("sentiment", ()), MAX_SENTIMENTS),
            languages=_capped(sorted(engine.supported_languages), MAX_LANGUAGES),
            reasons=_capped([UNSURE, *choices.get("reason", ())], MAX_REASONS),
        )

    def labels(self, result: TriageResult) -> tuple[str, str, str, str, str | None]:
        """(queue, urgency, sentiment, language, reason) of `result`; reason None when it is no
        complaint, `none` for a complaint no reason model read."""
        sentiment = result.sentiment.label if result.sentiment is not None else None
        reason = None
        if result.complaint is not None and result.complaint.is_complaint:
            reason = _bounded(result.reason.label if result.reason else None, self.reasons)
        return (
            _bounded(result.routing.queue, self.queues),
            result.urgency.level,  # one of four levels (a Literal)
            _bounded(sentiment, self.sentiments),
            _bounded(result.language.code, self.languages),
            reason,
        )


# One label set per served engine, made on its first triage (a reload brings a new engine).
_of_engine: weakref.WeakKeyDictionary[TriageEngine, TriageMetricLabels] = (
    weakref.WeakKeyDictionary()
)


def count_triaged(engine: TriageEngine, result: TriageResult) -> None:
    """Count one message `engine` triaged on the desk's counters."""
    labels = _of_engine.get(engine)
    if labels is None:
        labels = _of_engine[engine] = TriageMetricLabels.of(engine)
    ops_metrics.triaged(*labels.labels(result))
