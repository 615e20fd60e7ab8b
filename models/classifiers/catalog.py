"""The classifier types: the one list of their names, and the class behind each name.

Training configs, the command line and artifact loading all read this list, so a new type is
added here once. Importing this module is free (no numpy, scikit-learn or torch): the command
line builds its choices from it, and a type's module is imported only when its class is asked for.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from typing import TYPE_CHECKING

from models.errors import ModelFormatError

if TYPE_CHECKING:
    from models.classifiers.base import TextClassifier


class ClassifierType(StrEnum):
    """A classifier's `model_type`, as written in its manifest and accepted by configs."""

    TFIDF = "tfidf"
    EMBEDDING = "embedding"
    FINETUNE = "finetune"
    ENSEMBLE = "ensemble"


# type -> "module:Class"; imported on demand so loading a TF-IDF model never imports torch.
_CLASSES: dict[ClassifierType, str] = {
    ClassifierType.TFIDF: "models.classifiers.tfidf:TfidfClassifier",
    ClassifierType.EMBEDDING: "models.classifiers.embedding:EmbeddingClassifier",
    ClassifierType.FINETUNE: "models.classifiers.finetune:FineTunedClassifier",
    ClassifierType.ENSEMBLE: "models.classifiers.ensemble:EnsembleClassifier",
}


def classifier_class(model_type: str) -> type[TextClassifier]:
    """The class implementing classifier `model_type` (imports its module on demand)."""
    try:
        known_type = ClassifierType(model_type)
    except ValueError:
        known = ", ".join(ClassifierType)
        raise ModelFormatError(f"unknown classifier type '{model_type}'; known: {known}") from None
    module_name, class_name = _CLASSES[known_type].split(":")
    return getattr(importlib.import_module(module_name), class_name)
