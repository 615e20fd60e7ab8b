"""A weighted average of calibrated member probabilities (e.g. fine-tuned MiniLM + TF-IDF).

Members disagree in useful ways: the transformer reads context, TF-IDF remembers rare surface
cues (hashtags, airline handles, Chinese dish names). Because every member's probabilities are
calibrated, averaging them is meaningful without further scaling. The artifact is
one sub-folder per member (each a complete saved classifier, loadable on its own) plus the
weights in the manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from features.text import TextConfig
from models.classifiers.base import (
    ClassifierInputError,
    ScoredTexts,
    TermWeight,
    TextClassifier,
    check_texts,
    load_classifier,
)

logger = logging.getLogger(__name__)


class EnsembleClassifier(TextClassifier):
    """Averages members' calibrated probabilities with fixed non-negative weights."""

    model_type = "ensemble"

    def __init__(
        self, members: Sequence[TextClassifier], weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        if not members:
            raise ClassifierInputError("an ensemble needs at least one member")
        weights = [1.0] * len(members) if weights is None else list(weights)
        if len(weights) != len(members):
            raise ClassifierInputError(
                f"weights has {len(weights)} entries for {len(members)} members"
            )
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ClassifierInputError(f"weights must be >= 0 with a positive sum, got {weights}")
        self.members = list(members)
        self.weights = np.asarray(weights, dtype=np.float64) / sum(weights)
        if all(m.is_fitted for m in self.members):
            self._adopt_classes()

    def _adopt_classes(self) -> None:
        classes = self.members[0].classes_
        for member in self.members[1:]:
            if member.classes_ != classes:
                raise ClassifierInputError(
                    f"ensemble members disagree on classes: {classes} vs {member.classes_}"
                )
        self.classes_ = list(classes)

    def set_text_config(self, text: TextConfig) -> None:
        """The ensemble's text handling is its members' too: they read the same inputs."""
        super().set_text_config(text)
        for member in self.members:
            member.set_text_config(text)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        """Fit every member on the same data (members that are already fitted are refitted)."""
        for member in self.members:
            member.fit(texts, labels)
        self._adopt_classes()
        return self

    def _logits(self, texts: list[str]) -> np.ndarray:
        # Log of the averaged probabilities: softmax of it (temperature 1) returns the average.
        return np.log(np.clip(self.score(texts).probabilities, 1e-12, None))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.score(texts).probabilities

    def score(self, texts: Sequence[str]) -> ScoredTexts:
        """Probabilities of `texts`, keeping each member's scored batch, so explaining them
        reuses what the members computed (TF-IDF: the feature matrix) instead of reading every
        text again one at a time."""
        checked = self._checked_for_inference(texts)
        total = np.zeros((len(checked), len(self.classes_)), dtype=np.float64)
        if not checked:
            return ScoredTexts(self, checked, total)
        members: list[ScoredTexts | None] = []
        for weight, member in zip(self.weights, self.members, strict=True):
            scored = member.score(checked) if weight > 0 else None
            if scored is not None:
                total += weight * scored.probabilities
            members.append(scored)
        return ScoredTexts(self, checked, total, features=members)

    def _explain_rows(
        self, scored: ScoredTexts, rows: list[int], classes: list[int], top_n: int
    ) -> list[list[TermWeight]]:
        """Per row, the first member's non-empty explanation (as `explain`), a member at a time."""
        if scored.features is None:
            return super()._explain_rows(scored, rows, classes, top_n)
        explained: list[list[TermWeight]] = [[] for _ in rows]
        pending = list(range(len(rows)))
        for member, member_scored in zip(self.members, scored.features, strict=True):
            if not pending:
                break
            if member_scored is None:  # a zero-weight member still explains, as in `explain`
                member_scored = member.score(scored.texts)
            found = member._explain_rows(
                member_scored, [rows[i] for i in pending], [classes[i] for i in pending], top_n
            )
            still = []
            for i, terms in zip(pending, found, strict=True):
                if terms:
                    explained[i] = terms
                else:
                    still.append(i)
            pending = still
        return explained

    def explain(self, text: str, top_n: int = 5, label: str | None = None) -> list[TermWeight]:
        """The explanation of the first member that can give one, for the ensemble's label."""
        self.require_fitted()
        check_texts([text])
        label = self.classes_[self._check_label(label, text)]
        for member in self.members:
            terms = member.explain(text, top_n=top_n, label=label)
            if terms:
                return terms
        return []

    def _write_model(self, folder: Path) -> dict[str, Any]:
        entries = []
        for i, member in enumerate(self.members):
            name = f"member_{i}_{member.model_type}"
            (folder / name).mkdir()
            member.write_into(folder / name)
            entries.append({"folder": name, "type": member.model_type})
        return {"weights": self.weights.tolist(), "members": entries}

    @classmethod
    def _read_model(cls, folder: Path, manifest: dict[str, Any]) -> Self:
        # Each member folder names its own type (legacy entries said "kind"; it is not needed).
        members = [load_classifier(folder / entry["folder"]) for entry in manifest["members"]]
        return cls(members, manifest["weights"])
