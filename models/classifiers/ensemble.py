"""A weighted average of calibrated member probabilities (e.g. fine-tuned MiniLM + TF-IDF).

Members disagree in useful ways: the transformer reads context, TF-IDF remembers rare surface
cues (hashtags, airline handles, Chinese dish names). Because every member's probabilities are
calibrated, averaging them is meaningful without further scaling. The artifact is
one sub-folder per member (each a complete saved classifier, loadable on its own) plus the
weights in the manifest.

An ensemble may let one cheap member answer alone when it is sure (`EarlyExit`): its confident
rows skip the other members. When TF-IDF is that sure, averaging in the transformer rarely moves
the answer, and the transformer is what costs; training reports how many test answers the exit
changed, so the saving's price is measured on every run rather than assumed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class EarlyExit:
    """Member `member` answers alone for the texts it gives `min_confidence` or more.

    Above one half only one class can reach the threshold, so the answer is well defined; the
    member's own calibrated probabilities are then the ensemble's for that text.
    """

    member: int
    min_confidence: float

    def check(self, members: int) -> None:
        if not 0 <= self.member < members:
            raise ClassifierInputError(
                f"early exit member {self.member} is not one of the {members} members"
            )
        if not 0.5 < self.min_confidence <= 1.0:
            raise ClassifierInputError(
                f"early exit min_confidence must be in (0.5, 1], got {self.min_confidence}"
            )


@dataclass(frozen=True)
class _RowsScored:
    """A member's batch over some rows of the ensemble's batch (those past the early exit)."""

    rows: np.ndarray  # indices into the ensemble's texts, in the order `scored` holds them
    scored: ScoredTexts | None  # None: no row got past the exit


class EnsembleClassifier(TextClassifier):
    """Averages members' calibrated probabilities with fixed non-negative weights."""

    model_type = "ensemble"

    def __init__(
        self,
        members: Sequence[TextClassifier],
        weights: Sequence[float] | None = None,
        early_exit: EarlyExit | None = None,
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
        if early_exit is not None:
            early_exit.check(len(self.members))
            if weights[early_exit.member] <= 0:
                raise ClassifierInputError("the early exit member must have a positive weight")
        self.early_exit = early_exit
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
        text again one at a time.

        With an early exit, the other members score only the rows the exit member is unsure of;
        their kept batches say which rows those were (`_RowsScored`).
        """
        checked = self._checked_for_inference(texts)
        total = np.zeros((len(checked), len(self.classes_)), dtype=np.float64)
        if not checked:
            return ScoredTexts(self, checked, total)
        if self.early_exit is None:
            members: list[ScoredTexts | _RowsScored | None] = []
            for weight, member in zip(self.weights, self.members, strict=True):
                scored = member.score(checked) if weight > 0 else None
                if scored is not None:
                    total += weight * scored.probabilities
                members.append(scored)
            return ScoredTexts(self, checked, total, features=members)
        first = self.early_exit.member
        exit_scored = self.members[first].score(checked)
        sure = exit_scored.probabilities.max(axis=1) >= self.early_exit.min_confidence
        rest = np.flatnonzero(~sure)
        total[sure] = exit_scored.probabilities[sure]
        total[rest] = self.weights[first] * exit_scored.probabilities[rest]
        rest_texts = [checked[row] for row in rest]
        members = []
        for index, (weight, member) in enumerate(zip(self.weights, self.members, strict=True)):
            if index == first:
                members.append(exit_scored)
            elif weight <= 0:
                members.append(None)
            else:
                scored = member.score(rest_texts) if len(rest) else None
                if scored is not None:
                    total[rest] += weight * scored.probabilities
                members.append(_RowsScored(rest, scored))
        return ScoredTexts(self, checked, total, features=members)

    def exits(self, texts: Sequence[str]) -> np.ndarray:
        """Which of `texts` the early exit member answers alone (all False without one)."""
        checked = self._checked_for_inference(texts)
        if self.early_exit is None or not checked:
            return np.zeros(len(checked), dtype=bool)
        probabilities = self.members[self.early_exit.member].predict_proba(checked)
        return probabilities.max(axis=1) >= self.early_exit.min_confidence

    def _explain_rows(
        self, scored: ScoredTexts, rows: list[int], classes: list[int], top_n: int
    ) -> list[list[TermWeight]]:
        """Per row, the first member's non-empty explanation (as `explain`), a member at a time."""
        if scored.features is None:
            return super()._explain_rows(scored, rows, classes, top_n)
        explained: list[list[TermWeight]] = [[] for _ in rows]
        pending = list(range(len(rows)))
        for member, kept in zip(self.members, scored.features, strict=True):
            if not pending:
                break
            if kept is None:  # a zero-weight member still explains, as in `explain`
                kept = member.score(scored.texts)
            if isinstance(kept, _RowsScored):
                # A member past the early exit explains only the rows it scored: the others
                # were answered without it.
                position = {int(row): i for i, row in enumerate(kept.rows)}
                asked = [i for i in pending if rows[i] in position]
                found = (
                    member._explain_rows(
                        kept.scored,
                        [position[rows[i]] for i in asked],
                        [classes[i] for i in asked],
                        top_n,
                    )
                    if asked and kept.scored is not None
                    else [[] for _ in asked]
                )
            else:
                asked = pending
                found = member._explain_rows(
                    kept, [rows[i] for i in asked], [classes[i] for i in asked], top_n
                )
            for i, terms in zip(asked, found, strict=True):
                if terms:
                    explained[i] = terms
            pending = [i for i in pending if not explained[i]]
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
        early_exit = None
        if self.early_exit is not None:
            early_exit = {
                "member": self.early_exit.member,
                "min_confidence": self.early_exit.min_confidence,
            }
        return {"weights": self.weights.tolist(), "members": entries, "early_exit": early_exit}

    @classmethod
    def _read_model(cls, folder: Path, manifest: dict[str, Any]) -> Self:
        # Each member folder names its own type (legacy entries said "kind"; it is not needed).
        members = [load_classifier(folder / entry["folder"]) for entry in manifest["members"]]
        exit_entry = manifest.get("early_exit")  # absent from artifacts saved before early exits
        early_exit = None
        if exit_entry is not None:
            early_exit = EarlyExit(int(exit_entry["member"]), float(exit_entry["min_confidence"]))
        return cls(members, manifest["weights"], early_exit)
