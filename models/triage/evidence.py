"""Evidence for triage results: the terms that pushed each model towards its label.

Explains a whole batch per task at once from the batch the model already scored
(`ScoredTexts.explain`: for TF-IDF + LR, sparse products over the batch's feature matrix, not a
vectorisation per text). Models without a per-term decomposition return no terms, and their task
then has no evidence entry rather than an invented one. "unsure" labels are not explained: there
is no label to argue for.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.classifiers import ScoredTexts
from models.triage.schema import UNSURE, Evidence, EvidenceTerm


def explain_task(
    task: str,
    labels: Sequence[str | None],
    scored: ScoredTexts,
    top_n: int,
) -> list[Evidence | None]:
    """One Evidence (or None) per text of `scored`, explaining `labels` (aligned with it).

    None where the label is unknown or unsure, or where the model found no term for it.
    """
    found: list[Evidence | None] = [None] * len(labels)
    rows = [i for i, label in enumerate(labels) if label is not None and label != UNSURE]
    if not rows or top_n <= 0:
        return found
    explained = scored.explain(rows, [labels[i] for i in rows], top_n)
    for row, terms in zip(rows, explained, strict=True):
        if terms:
            found[row] = Evidence(
                task=task,
                label=labels[row],
                terms=[EvidenceTerm(term=t.term, weight=round(t.weight, 6)) for t in terms],
            )
    return found
