"""Text classifiers for feedback triage behind one contract (see `base.TextClassifier`).

Import a model's module for its class (`models.classifiers.tfidf.TfidfClassifier`, ...). This
package exposes the contract, `load_classifier` and the error classes, imported on first use:
importing the package (or its `catalog`, the list of classifier types the command line offers)
pulls in neither torch nor scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.classifiers.base import (
        ClassifierInputError,
        ScoredTexts,
        TermWeight,
        TextClassifier,
        load_classifier,
    )
    from models.classifiers.catalog import ClassifierType
    from models.errors import ModelFormatError, NotFittedError

_EXPORTS = {
    "ClassifierInputError": "models.classifiers.base",
    "ScoredTexts": "models.classifiers.base",
    "TermWeight": "models.classifiers.base",
    "TextClassifier": "models.classifiers.base",
    "load_classifier": "models.classifiers.base",
    "ClassifierType": "models.classifiers.catalog",
    "ModelFormatError": "models.errors",
    "NotFittedError": "models.errors",
}
__all__ = [
    "ClassifierInputError",
    "ClassifierType",
    "ModelFormatError",
    "NotFittedError",
    "ScoredTexts",
    "TermWeight",
    "TextClassifier",
    "load_classifier",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
