"""The text-classifier contract every triage model follows, and the artifact helpers they share.

A classifier maps texts to one of `classes_`. Probabilities are calibrated: each model fits a
temperature (and optionally a bias per class) on held-out logits (see
`models.classifiers.calibration`) and `predict_proba` applies them before the softmax. Every
model saves itself as a self-contained, pickle-free folder with a `classifier.json` manifest;
`load_classifier` reads the manifest and dispatches to the right class, so callers (the triage
engine, serving, the pyfunc adapter) never need to know which model family a folder holds.
"""

from __future__ import annotations

import importlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from models.classifiers.calibration import softmax

logger = logging.getLogger(__name__)

MANIFEST_FILE = "classifier.json"
FORMAT_VERSION = 1

# kind -> "module:Class"; imported on demand so loading a TF-IDF model never imports torch.
CLASSIFIER_KINDS: dict[str, str] = {
    "tfidf": "models.classifiers.tfidf:TfidfClassifier",
    "embedding": "models.classifiers.embedding:EmbeddingClassifier",
    "finetune": "models.classifiers.finetune:FineTunedClassifier",
    "ensemble": "models.classifiers.ensemble:EnsembleClassifier",
}


class NotFittedError(RuntimeError):
    """The classifier was used (predict, save, explain) before `fit` or `load`."""


class ClassifierInputError(ValueError):
    """Texts or labels given to a classifier are invalid; the message names the offending value."""


class ArtifactError(ValueError):
    """A saved classifier folder is missing, incomplete or of an unknown kind."""


@dataclass(frozen=True)
class TermWeight:
    """One term of a text and how much it pushed the prediction towards the explained class."""

    term: str
    weight: float


class TextClassifier(ABC):
    """Contract: fit, predict, predict_proba, explain, save, load; `classes_` after fitting.

    Subclasses implement `_logits` (uncalibrated scores, one column per class) and set
    `classes_`, `temperature_` and `class_bias_` in `fit`/`load`; the base turns logits into
    calibrated probabilities and labels, so every model calibrates and validates input the same way.
    """

    kind: ClassVar[str]

    def __init__(self) -> None:
        self.classes_: list[str] = []
        self.temperature_: float = 1.0
        self.class_bias_: np.ndarray | None = None  # added after dividing by the temperature

    @property
    def is_fitted(self) -> bool:
        return bool(self.classes_)

    @abstractmethod
    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        """Train on `texts` with string `labels`; returns self."""

    @abstractmethod
    def _logits(self, texts: list[str]) -> np.ndarray:
        """Uncalibrated class scores, shape (len(texts), len(classes_)); texts already checked."""

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write a self-contained artifact folder at `path` (atomically; replaces what is there)."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> Self:
        """Read a folder written by `save`."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n, len(classes_)), columns in `classes_` order."""
        checked = self._checked_for_inference(texts)
        if not checked:
            return np.zeros((0, len(self.classes_)), dtype=np.float64)
        return softmax(self._logits(checked), self.temperature_, self.class_bias_)

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable label for each text."""
        probabilities = self.predict_proba(texts)
        return [self.classes_[i] for i in probabilities.argmax(axis=1)]

    def explain(self, text: str, top_n: int = 5, label: str | None = None) -> list[TermWeight]:
        """Terms of `text` that pushed most towards `label` (default: the predicted one).

        Models without a per-term decomposition (embeddings, fine-tuned transformers) return an
        empty list; callers treat the explanation as optional evidence.
        """
        self._require_fitted()
        check_texts([text])
        if label is not None:
            self._check_label(label, text)
        return []

    def calibration_fields(self) -> dict[str, Any]:
        """The calibration as manifest fields (read back by `restore_calibration`)."""
        bias = None if self.class_bias_ is None else [float(b) for b in self.class_bias_]
        return {"temperature": float(self.temperature_), "class_bias": bias}

    def restore_calibration(self, manifest: dict[str, Any]) -> None:
        """Calibration from a manifest; artifacts written before class biases existed have none."""
        self.temperature_ = float(manifest["temperature"])
        bias = manifest.get("class_bias")
        self.class_bias_ = None if bias is None else np.asarray(bias, dtype=np.float64)

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted: call fit() or load() before using it"
            )

    def _checked_for_inference(self, texts: Sequence[str]) -> list[str]:
        self._require_fitted()
        return check_texts(texts)

    def _check_label(self, label: str | None, text: str) -> int:
        """Index of `label` in classes_, or of the predicted label when `label` is None."""
        if label is None:
            return int(self.predict_proba([text])[0].argmax())
        if label not in self.classes_:
            raise ClassifierInputError(
                f"label '{label}' is not one of this classifier's classes: {self.classes_}"
            )
        return self.classes_.index(label)


def check_texts(texts: Sequence[str]) -> list[str]:
    """`texts` as a list of str; a bare string or a non-string element is a clear error."""
    if isinstance(texts, str | bytes):
        raise ClassifierInputError("texts must be a sequence of strings, not a single string")
    checked = list(texts)
    for index, text in enumerate(checked):
        if not isinstance(text, str):
            raise ClassifierInputError(
                f"texts[{index}] must be a str, got {type(text).__name__}: {text!r:.60}"
            )
    return checked


def check_training_data(
    texts: Sequence[str], labels: Sequence[str]
) -> tuple[list[str], np.ndarray, list[str]]:
    """Validate training input; return (texts, label indices, sorted class names)."""
    checked = check_texts(texts)
    if isinstance(labels, str | bytes):
        raise ClassifierInputError("labels must be a sequence of strings, not a single string")
    label_list = list(labels)
    if len(label_list) != len(checked):
        raise ClassifierInputError(
            f"texts and labels differ in length: {len(checked)} texts, {len(label_list)} labels"
        )
    for index, label in enumerate(label_list):
        if not isinstance(label, str) or not label:
            raise ClassifierInputError(f"labels[{index}] must be a non-empty str, got {label!r}")
    classes = sorted(set(label_list))
    if len(classes) < 2:
        raise ClassifierInputError(f"need at least 2 distinct labels to train, got {classes}")
    index_of = {name: i for i, name in enumerate(classes)}
    return checked, np.array([index_of[x] for x in label_list], dtype=np.int64), classes


def write_manifest(folder: Path, kind: str, **fields: Any) -> None:
    """Write the manifest that names the classifier kind and its format version."""
    manifest = {"kind": kind, "format_version": FORMAT_VERSION, **fields}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))


def read_manifest(path: str | Path, expected_kind: str | None = None) -> dict[str, Any]:
    """The manifest of a saved classifier; checks the kind and format version."""
    file = Path(path) / MANIFEST_FILE
    if not file.is_file():
        raise ArtifactError(f"{path} is not a saved classifier: {MANIFEST_FILE} is missing")
    manifest = json.loads(file.read_text(encoding="utf-8"))
    kind = manifest.get("kind")
    if expected_kind is not None and kind != expected_kind:
        raise ArtifactError(f"{path} holds a '{kind}' classifier, not '{expected_kind}'")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format_version {manifest.get('format_version')}, "
            f"this code reads {FORMAT_VERSION}"
        )
    return manifest


def classifier_class(kind: str) -> type[TextClassifier]:
    """The class implementing classifier `kind` (imports its module on demand)."""
    if kind not in CLASSIFIER_KINDS:
        raise ArtifactError(f"unknown classifier kind '{kind}'; known: {sorted(CLASSIFIER_KINDS)}")
    module_name, class_name = CLASSIFIER_KINDS[kind].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def load_classifier(path: str | Path) -> TextClassifier:
    """Load any saved classifier folder, whatever its kind (read from its manifest)."""
    manifest = read_manifest(path)
    return classifier_class(str(manifest["kind"])).load(path)
