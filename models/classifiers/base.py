"""The text-classifier contract every triage model follows.

A classifier maps texts to one of `classes_`. Probabilities are calibrated: each model fits a
temperature (and optionally a bias per class) on held-out logits (see
`models.classifiers.calibration`) and `predict_proba` applies them before the softmax.

Every classifier is a `models.artifacts.SavedModel` of family "classifier": one pickle-free folder
whose `manifest.json` names its type, classes, calibration and the text handling its inputs were
prepared with (`text_config`). `load_classifier` reads the manifest and picks the class, so callers
(the triage engine, serving, the pyfunc adapter) never need to know which type a folder holds.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import ValidationError

from features.text import TextConfig
from models.artifacts import Family, SavedModel, read_manifest
from models.classifiers.calibration import softmax
from models.classifiers.catalog import classifier_class
from models.errors import ModelFormatError

logger = logging.getLogger(__name__)


class ClassifierInputError(ValueError):
    """Texts or labels given to a classifier are invalid; the message names the offending value."""


@dataclass(frozen=True)
class TermWeight:
    """One term of a text and how much it pushed the prediction towards the explained class."""

    term: str
    weight: float


@dataclass(frozen=True)
class ScoredTexts:
    """A batch's calibrated probabilities, kept with what its model needs to explain them.

    Returned by `TextClassifier.score`. Explaining from it reuses the batch's own representation
    (TF-IDF: the feature matrix) instead of vectorising every text a second time, so a triage
    batch reads each text once per model for both its labels and its evidence.
    """

    classifier: TextClassifier
    texts: list[str]
    probabilities: np.ndarray
    features: Any = field(default=None, repr=False)  # the model's own form of `texts`, or None

    def explain(
        self, rows: Sequence[int], labels: Sequence[str | None], top_n: int = 5
    ) -> list[list[TermWeight]]:
        """For each of `rows` (indices into `texts`), the terms that pushed it towards its label.

        The same terms and weights as `classifier.explain(texts[row], top_n, label)`; a label of
        None means the row's most probable class.
        """
        rows = [int(row) for row in rows]
        if len(labels) != len(rows):
            raise ClassifierInputError(
                f"rows and labels differ in length: {len(rows)} rows, {len(labels)} labels"
            )
        classes = [
            int(self.probabilities[row].argmax())
            if label is None
            else self.classifier.class_index(label)
            for row, label in zip(rows, labels, strict=True)
        ]
        return self.classifier._explain_rows(self, rows, classes, top_n)


class TextClassifier(SavedModel):
    """Contract: fit, predict, predict_proba, explain, save, load; `classes_` after fitting.

    Subclasses implement `_logits` (uncalibrated scores, one column per class) and set
    `classes_`, `temperature_` and `class_bias_` in `fit`; the base turns logits into calibrated
    probabilities and labels, so every model calibrates and validates input the same way. For
    artifacts they implement `_write_model`/`_read_model` (their own files); the base saves and
    restores what every classifier has (classes, calibration, text handling).

    `text_config` is the cleaning and masking (`features.text.model_input`) the model's training
    texts went through; whoever prepares the inputs (training) records it with
    `set_text_config`, and the triage engine prepares the model's serving inputs the same way.
    None means unknown (a model saved before artifacts carried it).
    """

    family: ClassVar[Family] = "classifier"
    model_type: ClassVar[str]

    def __init__(self) -> None:
        self.classes_: list[str] = []
        self.temperature_: float = 1.0
        self.class_bias_: np.ndarray | None = None  # added after dividing by the temperature
        self.text_config: TextConfig | None = None

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
    def _write_model(self, folder: Path) -> dict[str, Any]:
        """Write this type's own files into `folder`; return its own manifest fields."""

    @classmethod
    @abstractmethod
    def _read_model(cls, folder: Path, manifest: dict[str, Any]) -> Self:
        """A model with this type's own state read from `folder` (the base restores the rest)."""

    def set_text_config(self, text: TextConfig) -> None:
        """Record the text handling this model's training inputs were prepared with."""
        self.text_config = text

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n, len(classes_)), columns in `classes_` order."""
        checked = self._checked_for_inference(texts)
        if not checked:
            return np.zeros((0, len(self.classes_)), dtype=np.float64)
        return self._calibrated(self._logits(checked))

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable label for each text."""
        probabilities = self.predict_proba(texts)
        return [self.classes_[i] for i in probabilities.argmax(axis=1)]

    def score(self, texts: Sequence[str]) -> ScoredTexts:
        """Calibrated probabilities of `texts`, ready to be explained (`ScoredTexts.explain`).

        Models that can decompose a prediction override this to keep their features with it.
        """
        checked = self._checked_for_inference(texts)
        return ScoredTexts(self, checked, self.predict_proba(checked))

    def explain_batch(
        self,
        texts: Sequence[str],
        labels: Sequence[str | None] | None = None,
        top_n: int = 5,
    ) -> list[list[TermWeight]]:
        """`explain` for many texts at once (labels aligned with `texts`; None: predicted)."""
        scored = self.score(texts)
        wanted = [None] * len(scored.texts) if labels is None else list(labels)
        return scored.explain(range(len(scored.texts)), wanted, top_n)

    def explain(self, text: str, top_n: int = 5, label: str | None = None) -> list[TermWeight]:
        """Terms of `text` that pushed most towards `label` (default: the predicted one).

        Models without a per-term decomposition (embeddings, fine-tuned transformers) return an
        empty list; callers treat the explanation as optional evidence.
        """
        self.require_fitted()
        check_texts([text])
        if label is not None:
            self._check_label(label, text)
        return []

    def _explain_rows(
        self, scored: ScoredTexts, rows: list[int], classes: list[int], top_n: int
    ) -> list[list[TermWeight]]:
        """Explanations of `scored.texts[rows]` towards class indices `classes`.

        This default explains one text at a time, so every model's `explain` (an ensemble's,
        one that has none) keeps its meaning; models with a batch decomposition override it.
        """
        return [
            self.explain(scored.texts[row], top_n=top_n, label=self.classes_[index])
            for row, index in zip(rows, classes, strict=True)
        ]

    def _calibrated(self, logits: np.ndarray) -> np.ndarray:
        """Probabilities from uncalibrated logits, with this model's calibration."""
        return softmax(logits, self.temperature_, self.class_bias_)

    def _write(self, folder: Path) -> dict[str, Any]:
        bias = None if self.class_bias_ is None else [float(b) for b in self.class_bias_]
        text = None if self.text_config is None else self.text_config.model_dump(mode="json")
        return {
            "classes": self.classes_,
            "temperature": float(self.temperature_),
            "class_bias": bias,
            "text": text,
            **self._write_model(folder),
        }

    @classmethod
    def _read(cls, folder: Path, manifest: dict[str, Any], **init: Any) -> Self:
        if init:
            raise TypeError(f"{cls.__name__}.load takes no keyword arguments, got {sorted(init)}")
        try:
            model = cls._read_model(folder, manifest)
            model.classes_ = list(manifest["classes"])
            model.temperature_ = float(manifest["temperature"])
            text = manifest.get("text")  # absent from artifacts saved before it was recorded
            model.text_config = None if text is None else TextConfig.model_validate(text)
        except KeyError as error:
            raise ModelFormatError(f"{folder}: the manifest has no {error} field") from None
        except ValidationError as error:
            raise ModelFormatError(
                f"{folder}: invalid text settings in the manifest: {error}"
            ) from None
        bias = manifest.get("class_bias")  # absent from artifacts saved before class biases
        model.class_bias_ = None if bias is None else np.asarray(bias, dtype=np.float64)
        return model

    def _checked_for_inference(self, texts: Sequence[str]) -> list[str]:
        self.require_fitted()
        return check_texts(texts)

    def _check_label(self, label: str | None, text: str) -> int:
        """Index of `label` in classes_, or of the predicted label when `label` is None."""
        if label is None:
            return int(self.predict_proba([text])[0].argmax())
        return self.class_index(label)

    def class_index(self, label: str) -> int:
        """Position of `label` in `classes_`; an unknown label is a ClassifierInputError."""
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


def load_classifier(path: str | Path) -> TextClassifier:
    """Load any saved classifier folder, whatever its type (read from its manifest)."""
    manifest = read_manifest(path, family="classifier")
    return classifier_class(str(manifest["type"])).load(path)
