"""Triage configuration: thresholds, urgency rules, routing table, text and language handling.

The defaults ship as package data beside this module: `triage.yaml` (thresholds, text, language),
`urgency.yaml` and `routing.yaml`. `load_triage_config(path)` starts from those defaults and
replaces every top-level section the user's file gives (a whole section, not a deep merge: a
user routing table is the table, not an addition to the default one). Unknown keys anywhere are
rejected with the field's path, e.g. "routing.rules.2.when.categroy: unknown field".
"""

from __future__ import annotations

import functools
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator

from features.language import LanguageConfig
from features.text import TextConfig
from models.config import ConfigError, FrozenConfig
from models.triage.inquiry import InquiryRules, check_inquiry_rules
from models.triage.reason_keywords import ReasonKeywords, check_reason_keywords
from models.triage.routing import RoutingConfig
from models.triage.schema import Band
from models.triage.urgency import UrgencyConfig, language_probabilities

logger = logging.getLogger(__name__)

DEFAULT_FILES = (
    "triage.yaml",
    "urgency.yaml",
    "routing.yaml",
    "reason_keywords.yaml",
    "inquiry.yaml",
)
# Which top-level section each default file fills (triage.yaml holds several at top level).
_SECTION_OF_FILE = {
    "urgency.yaml": "urgency",
    "routing.yaml": "routing",
    "reason_keywords.yaml": "reason_keywords",
    "inquiry.yaml": "inquiry",
}


class BandThresholds(FrozenConfig):
    """probability >= high: "high"; >= medium: "medium"; else "low"."""

    high: float = Field(0.8, gt=0, le=1)
    medium: float = Field(0.6, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> BandThresholds:
        if self.medium > self.high:
            raise ValueError(f"medium ({self.medium}) must not exceed high ({self.high})")
        return self

    def band(self, probability: float) -> Band:
        if probability >= self.high:
            return "high"
        return "medium" if probability >= self.medium else "low"


class ThresholdConfig(FrozenConfig):
    """Decision thresholds on model probabilities."""

    bands: BandThresholds = BandThresholds()
    complaint_min_negative: float = Field(
        0.5, gt=0, le=1, description="is_complaint when the sentiment model's P(negative) >= this"
    )
    complaint_min_negative_by_language: dict[str, float] = Field(
        default_factory=dict,
        description="per language (ISO 639-1): its own complaint_min_negative, for a model "
        "whose probabilities sit elsewhere than the default's (a 2-class model on a desk)",
    )
    reason_min_probability: float = Field(
        0.4, ge=0, le=1, description="below this the reason is 'unsure'"
    )
    unsure_reasons: tuple[str, ...] = Field(
        ("Can't Tell",), description="reason labels that mean the annotators could not tell"
    )
    category_min_probability: float = Field(
        0.3, ge=0, le=1, description="below this the category is 'unsure'"
    )

    @field_validator("complaint_min_negative_by_language")
    @classmethod
    def _per_language(cls, table: dict[str, float]) -> dict[str, float]:
        return language_probabilities(table)

    def complaint_threshold(self, language: str | None) -> float:
        """The P(negative) at which a text of `language` is a complaint."""
        by_language = self.complaint_min_negative_by_language
        return by_language.get(language or "", self.complaint_min_negative)


class TriageConfig(FrozenConfig):
    """Everything the triage engine needs besides its models."""

    thresholds: ThresholdConfig = ThresholdConfig()
    urgency: UrgencyConfig = UrgencyConfig()
    routing: RoutingConfig = RoutingConfig()
    text: TextConfig = TextConfig()
    language: LanguageConfig = LanguageConfig()
    fallback_language: str | None = Field(
        "en",
        pattern=r"^[a-z]{2}$",
        description="language used when the detector is unsure and the text is in its script",
    )
    evidence_terms: int = Field(5, ge=0, le=50, description="top terms per explanation; 0: none")
    reason_keywords: ReasonKeywords = Field(
        default_factory=dict,
        description="per language: complaint reasons from keywords where no reason model serves",
    )

    inquiry: InquiryRules = Field(
        default_factory=dict,
        description="per language: questions and requests with no negative evidence are not "
        "complaints, whatever the sentiment model says ({}: off)",
    )

    @field_validator("inquiry")
    @classmethod
    def _inquiry(cls, table: InquiryRules) -> InquiryRules:
        return check_inquiry_rules(table)

    @field_validator("reason_keywords")
    @classmethod
    def _reason_keywords(cls, table: ReasonKeywords) -> ReasonKeywords:
        return check_reason_keywords(table)

    @model_validator(mode="after")
    def _routing_names_known_rules(self) -> TriageConfig:
        known = self.urgency.rule_names()
        for rule in self.routing.rules:
            for name in rule.when.fired_rules or ():
                if name not in known:
                    raise ValueError(
                        f"routing rule '{rule.name}' tests fired rule '{name}', which is not an "
                        f"urgency rule (known: {sorted(known)})"
                    )
        return self


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"cannot parse {source}: {error}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source} must be a mapping of field: value")
    return values


def default_sections() -> dict[str, Any]:
    """The shipped defaults as one raw mapping (before validation)."""
    sections: dict[str, Any] = {}
    package = resources.files("models.triage")
    for name in DEFAULT_FILES:
        values = _read_yaml(package.joinpath(name).read_text(encoding="utf-8"), name)
        if name in _SECTION_OF_FILE:
            sections[_SECTION_OF_FILE[name]] = values
        else:
            sections.update(values)
    return sections


@functools.cache
def shipped_routing() -> RoutingConfig:
    """The routing table shipped in `routing.yaml` (read once)."""
    return RoutingConfig.from_mapping(default_sections()["routing"])


def load_triage_config(path: str | Path | None = None) -> TriageConfig:
    """The shipped defaults, with each top-level section of the file at `path` replacing its own."""
    sections = default_sections()
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read triage config {path}: {error}") from None
        user = _read_yaml(text, str(path))
        logger.info("triage config %s overrides sections: %s", path, sorted(user))
        sections.update(user)
    return TriageConfig.from_mapping(sections)
