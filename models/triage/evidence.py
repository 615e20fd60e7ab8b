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
    labels: Mapping[str, str | None],
    models: Mapping[str, tuple[TextClassifier, str]],
    top_n: int,
) -> list[Evidence]:
    """One Evidence per task whose label is known, with up to `top_n` terms from `explain`.

    `models` maps a task to its classifier and the text as that classifier reads it (each model
    reads the text prepared with its own text handling).
    """
    evidence = []
    for task, label in labels.items():
        if task not in models or label is None or label == UNSURE:
            continue
        classifier, text = models[task]
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
