"""Complaint reasons from keyword rules, for a language that no reason model serves.

A desk that runs only the shipped Chinese sentiment model had no reason for any Chinese
complaint: every one counted under `(none)`, so a surge of one kind of complaint (payment
failures after an app update) was invisible to the reason dimension of the spike analysis,
the trends panel and the report, and routing could not tell one topic from another. A reason
model needs labelled complaints such a desk does not have; a short table of the words its
customers use for each topic does not. The rules are config (`reason_keywords.yaml` beside
this module, replaced by the `reason_keywords` section of a desk's own triage config), keyed by
language; a reason model bound for that language always wins over them.

The first rule whose keywords occur in the text gives the reason, so more specific topics go
first; a complaint no rule matches is `unsure`, as a model's low-confidence answer is. Keywords
match as the urgency rules' do (`urgency.keyword_pattern`): Chinese anywhere, Latin-script
words whole, case ignored. Traditional characters are listed beside simplified ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import Field, field_validator

from features.han_variants import fold_traditional
from models.config import FrozenConfig
from models.triage.schema import UNSURE, Evidence, EvidenceTerm, LabelResult
from models.triage.urgency import Keywords, keyword_pattern

_MAX_MATCHED = 5  # keywords listed as a reason's evidence


class ReasonKeywordRule(FrozenConfig):
    """A complaint whose text holds any of `keywords` has the reason `label`."""

    label: str = Field(min_length=1, max_length=100)
    keywords: Keywords

    @field_validator("label")
    @classmethod
    def _not_unsure(cls, label: str) -> str:
        if label.strip() != label or label.casefold() == UNSURE:
            raise ValueError(f"label '{label}' must not be '{UNSURE}' or have outer spaces")
        return label


# language (ISO 639-1) -> its rules, first match wins
ReasonKeywords = dict[str, tuple[ReasonKeywordRule, ...]]


def check_reason_keywords(table: ReasonKeywords) -> ReasonKeywords:
    """The table, refused with a sentence when a language code is malformed or a label repeats."""
    for language, rules in table.items():
        if not re.fullmatch(r"[a-z]{2}", language):
            raise ValueError(f"'{language}' is not an ISO 639-1 language code such as 'zh'")
        labels = [rule.label for rule in rules]
        for label in labels:
            if labels.count(label) > 1:
                raise ValueError(f"{language}: the label '{label}' has two rules; merge them")
    return table


@dataclass(frozen=True)
class KeywordReason:
    """The reason a rule gave a text (`unsure`: none matched) and the keywords that matched."""

    label: str
    matched: tuple[str, ...]

    def result(self) -> LabelResult:
        return LabelResult(
            taxonomy="reason",
            label=self.label,
            probability=None,
            band=None,
            top=[],
            source="keywords",
            matched=list(self.matched),
        )

    def evidence(self) -> Evidence:
        """The matched keywords as the reason's evidence (each weighs the same: it matched)."""
        terms = [EvidenceTerm(term=term, weight=1.0) for term in self.matched]
        return Evidence(task="reason", label=self.label, terms=terms)

    def warning(self, language: str) -> str:
        said = f"matched {', '.join(self.matched)}" if self.matched else "none matched"
        return f"no reason model for language '{language}': reason from keyword rules ({said})"


class ReasonKeywordMatcher:
    """One language's rules, each compiled once into a single pattern."""

    def __init__(self, rules: tuple[ReasonKeywordRule, ...]) -> None:
        self.labels = tuple(rule.label for rule in rules)
        self._patterns = [(rule.label, keyword_pattern(rule.keywords)) for rule in rules]

    def reason(self, text: str) -> KeywordReason:
        """The first rule matching `text` (cleaned as the urgency rules read it). Traditional
        characters match as Simplified, as the urgency rules' do (`keyword_pattern` folds the
        keywords); a match is quoted as the text wrote it (folding keeps every position)."""
        folded = fold_traditional(text)
        for label, pattern in self._patterns:
            matches = pattern.finditer(folded)
            found = dict.fromkeys(text[m.start() : m.end()].lower() for m in matches)
            if found:
                return KeywordReason(label, tuple(found)[:_MAX_MATCHED])
        return KeywordReason(UNSURE, ())
