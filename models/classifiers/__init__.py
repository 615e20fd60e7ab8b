"""Text classifiers for feedback triage behind one contract (see `base.TextClassifier`).

Import a model's module for its class (`models.classifiers.tfidf.TfidfClassifier`, ...); this
package exposes only the contract and `load_classifier`, so importing it never pulls in torch.
"""

from models.classifiers.base import (
    ArtifactError,
    ClassifierInputError,
    NotFittedError,
    TermWeight,
    TextClassifier,
    load_classifier,
)

__all__ = [
    "ArtifactError",
    "ClassifierInputError",
    "NotFittedError",
    "TermWeight",
    "TextClassifier",
    "load_classifier",
]
