"""An out-of-domain check for English sentiment models, assembled from the catalog's datasets.

The catalog holds one English sentiment set (airline tweets), so transfer to other domains is
checked on the two sources of English text it has that carry sentiment, each scored as the
binary question a review set asks (positive when P(positive) > P(negative)):

- **Stated satisfaction in support chat** (Bitext): the utterances whose template states how the
  customer feels about the service: review requests that open "I'm happy with the service" and
  complaints that open "I don't like / I'm discontent with / I'm not happy with the service".
  Scored as balanced accuracy. It shows whether a model reads polarity in another register,
  negation included ("not happy"). It cannot show much more: the text is template-generated, the
  templates are few, and the sentiment is explicit.
- **Complaint narratives** (CFPB): every narrative is a consumer complaint, long and formal, from
  finance. Scored as the share read as negative. It shows whether long formal complaints are read
  as negative; it cannot show positive recall (a model calling everything negative scores 1.0),
  which is why it is averaged with the first check and never used alone.

The transfer score is the mean of the two. It ranks models trained on the same data; it is not a
substitute for a review set from the domain a model will serve.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.classifiers.base import TextClassifier

STATED_SATISFACTION = "bitext-intents"
NARRATIVES = "cfpb-complaints"
MAX_NARRATIVES = 1000  # enough for a stable share; long texts are the slow part

_HAPPY = re.compile(r"\b(?:happy|satisfied|pleased|glad|delighted) with\b", re.IGNORECASE)
_UNHAPPY = re.compile(
    r"\b(?:don't like|do not like|discontent|unhappy|dissatisfied|not happy|not satisfied)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TransferCheck:
    """Texts of one check with their binary labels (None: every text is negative)."""

    name: str
    texts: list[str]
    labels: list[str]  # "positive" / "negative"


@dataclass(frozen=True)
class TransferReport:
    """A model's scores on each check and their mean (the transfer score)."""

    scores: dict[str, float]
    sizes: dict[str, int]

    @property
    def score(self) -> float:
        """The mean over the checks; 0.0 without any (every candidate then ties on transfer)."""
        return float(np.mean(list(self.scores.values()))) if self.scores else 0.0

    def describe(self) -> str:
        if not self.scores:
            return "transfer not measured (no out-of-domain check available)"
        parts = ", ".join(
            f"{name} {value:.3f} (n={self.sizes[name]})" for name, value in self.scores.items()
        )
        return f"transfer {self.score:.3f} ({parts})"


def stated_satisfaction(frame: pd.DataFrame) -> TransferCheck:
    """Bitext utterances stating (dis)satisfaction, from a labelled-text frame of the set."""
    text = frame["text"].astype(str)
    positive = (
        (frame["label"] == "review") & text.str.contains(_HAPPY) & ~text.str.contains(_UNHAPPY)
    )
    negative = (frame["label"] == "complaint") & text.str.contains(_UNHAPPY)
    texts = text[positive].tolist() + text[negative].tolist()
    labels = ["positive"] * int(positive.sum()) + ["negative"] * int(negative.sum())
    return TransferCheck("stated_satisfaction", texts, labels)


def complaint_narratives(frame: pd.DataFrame, limit: int = MAX_NARRATIVES) -> TransferCheck:
    """Up to `limit` CFPB narratives (first rows, a fixed set), all labelled negative."""
    narratives = frame["text"].dropna().astype(str)
    texts = narratives[narratives.str.len() > 0].head(limit).tolist()
    return TransferCheck("complaint_narratives", texts, ["negative"] * len(texts))


def load_checks(
    load: Callable[[str], pd.DataFrame],
) -> tuple[list[TransferCheck], list[str]]:
    """The checks whose dataset `load(name)` can read, and why each other one was left out.

    Bitext needs a manual download step where no mirror is set up; the selection then runs on
    the checks it has (or on in-domain figures alone) and says so, rather than failing.
    """
    builders = (
        (STATED_SATISFACTION, stated_satisfaction),
        (NARRATIVES, complaint_narratives),
    )
    checks, missing = [], []
    for dataset, build in builders:
        try:
            checks.append(build(load(dataset)))
        except (OSError, RuntimeError, KeyError, ValueError) as error:
            missing.append(f"{dataset}: {error}")
    return checks, missing


def binary_predictions(classifier: TextClassifier, texts: Sequence[str]) -> list[str]:
    """'positive' where P(positive) > P(negative), else 'negative' (neutral is ignored)."""
    probabilities = classifier.predict_proba(texts)
    positive = probabilities[:, classifier.class_index("positive")]
    negative = probabilities[:, classifier.class_index("negative")]
    return np.where(positive > negative, "positive", "negative").tolist()


def score_transfer(
    classifier: TextClassifier,
    checks: Sequence[TransferCheck],
    prepare: Callable[[Sequence[str]], list[str]],
) -> TransferReport:
    """Balanced accuracy of each check (recall averaged over the classes it holds).

    A model without both a positive and a negative class cannot answer the binary question:
    nothing is measured for it.
    """
    if not {"positive", "negative"} <= set(classifier.classes_):
        return TransferReport({}, {})
    scores, sizes = {}, {}
    for check in checks:
        predicted = np.array(binary_predictions(classifier, prepare(check.texts)))
        truth = np.array(check.labels)
        recalls = [
            float(np.mean(predicted[truth == label] == label)) for label in set(check.labels)
        ]
        scores[check.name] = float(np.mean(recalls))
        sizes[check.name] = len(check.texts)
    return TransferReport(scores, sizes)
