"""Benchmark: what recording Agora's own metrics adds to a request, in BentoML's multiprocess mode.

A request records at most a few counters (`serving/ops_metrics.py`): `/triage` bounds its four
labels and adds to two counters, `/events` to two, a shed request to one. Each is timed here the
way a worker does it, with `PROMETHEUS_MULTIPROC_DIR` set (values written to memory-mapped
files), best of 5 x 100,000 calls. Figures go in the README, not here.

    python bench/ops_metrics_cost.py
"""

from __future__ import annotations

import os
import tempfile
import timeit
from collections.abc import Callable


def main() -> None:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ops-metrics-")
    # After the folder is set, as in a worker: prometheus_client picks its mode on import.
    from models.triage.schema import (
        ComplaintResult,
        LabelResult,
        LanguageInfo,
        RoutingResult,
        SentimentResult,
        TriageResult,
        UrgencyResult,
    )
    from serving import ops_metrics
    from serving.triage_metric_labels import TriageMetricLabels

    labels = TriageMetricLabels(
        queues=frozenset({"general", "baggage"}),
        sentiments=frozenset({"negative", "neutral", "positive"}),
        languages=frozenset({"en", "zh"}),
        reasons=frozenset({"unsure", "Lost Luggage"}),
    )
    result = TriageResult(
        status="ok",
        language=LanguageInfo(code="en", confidence=1.0, method="given", supported=True),
        sentiment=SentimentResult(label="negative", probability=0.9, band="high", probabilities={}),
        complaint=ComplaintResult(is_complaint=True, probability=0.9, threshold=0.5),
        reason=LabelResult(
            taxonomy="reason", label="Lost Luggage", probability=0.9, band="high", top=[]
        ),
        urgency=UrgencyResult(level="high", fired=[]),
        routing=RoutingResult(queue="baggage", rule=None),
    )
    calls: dict[str, Callable[[], None]] = {
        "/triage: bound labels, 2 counters": lambda: ops_metrics.triaged(*labels.labels(result)),
        "/events: 2 counters": lambda: ops_metrics.events_written(3, 0),
        "a shed request: 1 counter": lambda: ops_metrics.shed("/recommend"),
    }
    number = 100_000
    for name, call in calls.items():
        call()
        best = min(timeit.repeat(call, number=number, repeat=5)) / number
        print(f"{name}: {best * 1e6:.1f} us per request")


if __name__ == "__main__":
    main()
