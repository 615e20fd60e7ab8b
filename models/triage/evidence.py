"""Evidence for a triage result: the terms that pushed each model towards its label.

Uses the classifier's own `explain` (per-term contributions for TF-IDF + LR). Models without a
per-term decomposition return no terms, and their task then has no evidence entry rather than an
invented one. "unsure" labels are not explained: there is no label to argue for.
"""

from __future__ import annotations

from collections.abc import Mapping

from models.classifiers import TextClassifier
from models.triage.schema import UNSURE, Evidence, EvidenceTerm


def explain_labels(
    text: str,
    labels: Mapping[str, str | None],
    classifiers: Mapping[str, TextClassifier],
    top_n: int,
) -> list[Evidence]:
    """One Evidence per task whose label is known, with up to `top_n` terms from `explain`."""
    evidence = []
    for task, label in labels.items():
        classifier = classifiers.get(task)
        if classifier is None or label is None or label == UNSURE:
            continue
        terms = classifier.explain(text, top_n=top_n, label=label)
        if terms:
            evidence.append(
                Evidence(
                    task=task,
                    label=label,
                    terms=[EvidenceTerm(term=t.term, weight=round(t.weight, 6)) for t in terms],
                )
            )
    return evidence
