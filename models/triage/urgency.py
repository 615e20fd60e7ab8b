"""Urgency: a base level from the models plus explainable rules, each one listed when it fires.

Base level: `complaint_level` for a complaint, `default_level` for anything else the models read,
`unassessed_level` when no model could read the text (unsupported or undetermined language), and
`low` for an empty text. Rules can only raise the level:
- keyword rules (safety, legal, ...): a keyword found in the cleaned text. Keywords in scripts
  written without spaces (Chinese, Japanese, Thai) match as substrings; others match whole words,
  case-insensitively, so "sue" does not fire on "issue" and "fire" not on "fired" (a word may
  touch Chinese characters: "我要找lawyer" matches "lawyer"). Traditional and Simplified Chinese
  match each other (報警 fires 报警), however the keyword is written.
- strong negativity: the sentiment model's P(negative) at or above a threshold.
- repeat contact: the caller-supplied count of the customer's prior contacts reaches a tier.
Negations ("not unsafe") are not handled: the rules flag for a human, who reads the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from features.han_variants import fold_traditional
from features.language import script_of
from models.config import FrozenConfig
from models.triage.schema import FiredRule, UrgencyLevel, UrgencyResult, urgency_rank

IDENTIFIER = r"^[a-z][a-z0-9_]*$"


def _identifier(value: str) -> str:
    """A rule or queue name: the same plain identifier for every operator, in every tool, log and
    metric label, whatever their language (a Chinese desk wrote its teams' names, 账号安全组, and
    got back only the pattern)."""
    if not re.fullmatch(IDENTIFIER, value):
        raise ValueError(
            f"'{value}' is not a name Agora takes: use lowercase ASCII letters, digits and _, "
            "starting with a letter (such as account_security); a team's own name, in any "
            "language, goes in the rule's description"
        )
    return value


# A rule or queue name (see `_identifier`).
Identifier = Annotated[str, AfterValidator(_identifier)]


def _no_blank_keywords(keywords: tuple[str, ...]) -> tuple[str, ...]:
    if any(not keyword.strip() for keyword in keywords):
        raise ValueError("keywords must not be blank")
    return keywords


# A rule's keywords (urgency and reason rules alike): at least one, none blank.
Keywords = Annotated[tuple[str, ...], Field(min_length=1), AfterValidator(_no_blank_keywords)]
_UNSPACED_SCRIPTS = frozenset({"Han", "Kana", "Thai"})
# Letters and digits of scripts written with spaces: a keyword must not touch one of these, so
# "sue" misses "issue", while "lawyer" still matches in "我要找lawyer" (Han is not in the set).
_SPACED_ALNUM = "0-9A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0370-\u052f\u0590-\u06ff\u0900-\u097f"
_MAX_LISTED_MATCHES = 3
# Names of the built-in rules, for the routing table's `fired_rules` condition.
BUILTIN_RULES = ("complaint", "no_complaint", "unassessed", "empty", "strong_negativity")
REPEAT_CONTACT_RULE = "repeat_contact"


class KeywordRule(FrozenConfig):
    """Raise urgency to `level` when any keyword occurs in the text."""

    name: Identifier
    level: UrgencyLevel
    keywords: Keywords
    description: str = ""


def language_probabilities(table: dict[str, float]) -> dict[str, float]:
    """`table` (ISO 639-1 code -> probability) checked: a per-language threshold table."""
    for language, threshold in table.items():
        if not re.fullmatch(r"[a-z]{2}", language):
            raise ValueError(f"'{language}' is not an ISO 639-1 language code such as 'zh'")
        if not 0 < threshold <= 1:
            raise ValueError(f"{language}: {threshold} is not a probability in (0, 1]")
    return table


class NegativityRule(FrozenConfig):
    """Raise urgency when the sentiment model is very sure the text is negative."""

    enabled: bool = True
    min_negative_probability: float = Field(0.99, gt=0, le=1)
    # Each language's model has its own confidence: the same threshold that calls a few
    # complaints of one model strongly negative calls a third of another's so.
    min_negative_probability_by_language: Annotated[
        dict[str, float], AfterValidator(language_probabilities)
    ] = Field(default_factory=dict)
    level: UrgencyLevel = "high"

    def threshold(self, language: str | None) -> float:
        """The P(negative) at or above which a text of `language` is strongly negative."""
        by_language = self.min_negative_probability_by_language
        return by_language.get(language or "", self.min_negative_probability)


class RepeatContactTier(FrozenConfig):
    """Raise a complaint's urgency when the customer contacted us at least `min_prior_contacts`
    times before (within `UrgencyConfig.repeat_contact_days`)."""

    min_prior_contacts: int = Field(ge=1)
    level: UrgencyLevel


class UrgencyConfig(FrozenConfig):
    """Base levels and rules; the shipped defaults are in `urgency.yaml` beside this module."""

    default_level: UrgencyLevel = "low"
    complaint_level: UrgencyLevel = "normal"
    unassessed_level: UrgencyLevel = "normal"
    keyword_rules: tuple[KeywordRule, ...] = ()
    strong_negativity: NegativityRule = NegativityRule()
    repeat_contact: tuple[RepeatContactTier, ...] = ()
    # Contacts older than this do not count as repeats (None: every contact ever). A customer who
    # wrote five times over two years is not chasing today's problem.
    repeat_contact_days: float | None = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _unique_rule_names(self) -> UrgencyConfig:
        names = [rule.name for rule in self.keyword_rules]
        reserved = set(BUILTIN_RULES) | {REPEAT_CONTACT_RULE}
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"keyword_rules: duplicate rule name '{name}'")
            if name in reserved:
                raise ValueError(f"keyword_rules: '{name}' is a built-in rule name")
        return self

    def rule_names(self) -> set[str]:
        """Every rule name that can appear in `UrgencyResult.fired`."""
        return {*BUILTIN_RULES, REPEAT_CONTACT_RULE, *(r.name for r in self.keyword_rules)}


@dataclass(frozen=True)
class ModelSignals:
    """What the models said about a text, as far as urgency cares (None: not assessed)."""

    is_complaint: bool | None
    negative_probability: float | None
    complaint_threshold: float = 0.5
    language: str | None = None  # ISO 639-1, for per-language thresholds
    # Non-empty: the model's complaint was overruled as a question or request (inquiry.py).
    inquiry_markers: tuple[str, ...] = ()


def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern per rule: whole-word keywords share a single pair of boundary checks, so a
    position of the text is tested once for a boundary, not once per keyword (that made the
    rules the costliest step of a triage batch); unspaced-script keywords match anywhere."""
    spaced, unspaced = [], []
    for keyword in map(fold_traditional, keywords):  # matched against folded text (`assess`)
        escaped = r"\s+".join(re.escape(part) for part in keyword.split())
        if any(script_of(character) in _UNSPACED_SCRIPTS for character in keyword):
            unspaced.append(escaped)
        else:
            spaced.append(escaped)
    parts = [f"(?:{'|'.join(unspaced)})"] if unspaced else []
    if spaced:
        parts.insert(0, rf"(?<![{_SPACED_ALNUM}])(?:{'|'.join(spaced)})(?![{_SPACED_ALNUM}])")
    return re.compile("|".join(parts), re.IGNORECASE)


class UrgencyAssessor:
    """Applies an UrgencyConfig; keyword patterns are compiled once, at construction."""

    def __init__(self, config: UrgencyConfig) -> None:
        self.config = config
        self._patterns = [(rule, keyword_pattern(rule.keywords)) for rule in config.keyword_rules]

    def assess(
        self, text: str, signals: ModelSignals, prior_contacts: int, empty: bool = False
    ) -> UrgencyResult:
        """Urgency of `text` (already cleaned) from the model signals and the rules."""
        fired = [self._base(signals, empty)]
        # Traditional Chinese is matched as Simplified (報警 as 报警), whichever script a
        # keyword is written in; a match is quoted as the text wrote it (folding keeps length).
        folded = fold_traditional(text)
        for rule, pattern in self._patterns:
            found = (text[m.start() : m.end()].lower() for m in pattern.finditer(folded))
            matches = list(dict.fromkeys(found))
            if matches:
                listed = ", ".join(f"'{m}'" for m in matches[:_MAX_LISTED_MATCHES])
                more = f" (+{len(matches) - _MAX_LISTED_MATCHES} more)" if len(matches) > 3 else ""
                fired.append(
                    FiredRule(
                        rule=rule.name, level=rule.level, reason=f"text mentions {listed}{more}"
                    )
                )
        negativity = self.config.strong_negativity
        p_negative = signals.negative_probability
        strong_at = negativity.threshold(signals.language)
        strong = p_negative is not None and p_negative >= strong_at
        # A question the 2-class model reads as very negative is still a question: not urgent.
        if negativity.enabled and strong and not signals.inquiry_markers:
            fired.append(
                FiredRule(
                    rule="strong_negativity",
                    level=negativity.level,
                    reason=f"P(negative)={p_negative:.3f} >= {strong_at}",
                )
            )
        # A repeat contact escalates a complaint (a customer chasing a problem); praise or a
        # question from a customer who wrote before is no more urgent for it.
        tiers = [
            t
            for t in self.config.repeat_contact
            if prior_contacts >= t.min_prior_contacts and signals.is_complaint is not False
        ]
        if tiers:
            tier = max(tiers, key=lambda t: t.min_prior_contacts)
            fired.append(
                FiredRule(
                    rule=REPEAT_CONTACT_RULE,
                    level=tier.level,
                    reason=f"{prior_contacts} prior contacts >= {tier.min_prior_contacts}",
                )
            )
        level = max((f.level for f in fired), key=urgency_rank)
        return UrgencyResult(level=level, fired=fired)

    def _base(self, signals: ModelSignals, empty: bool) -> FiredRule:
        if empty:
            return FiredRule(rule="empty", level="low", reason="no text to assess")
        if signals.is_complaint is None:
            return FiredRule(
                rule="unassessed",
                level=self.config.unassessed_level,
                reason="no model read this text; urgency from rules only",
            )
        p = signals.negative_probability or 0.0
        if signals.is_complaint:
            return FiredRule(
                rule="complaint",
                level=self.config.complaint_level,
                reason=f"complaint: P(negative)={p:.3f} >= {signals.complaint_threshold}",
            )
        if signals.inquiry_markers:
            said = ", ".join(signals.inquiry_markers)
            reason = f"not a complaint: a question or request ({said}), no negative evidence"
        else:
            reason = f"not a complaint: P(negative)={p:.3f} < {signals.complaint_threshold}"
        return FiredRule(rule="no_complaint", level=self.config.default_level, reason=reason)
