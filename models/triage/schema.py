"""The triage result: one JSON-serialisable pydantic model per text, and the vocabularies it uses.

Every field a model could not fill is an explicit null plus a line in `warnings` saying why (no
model for the language, not a complaint, text empty), never a made-up value.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from features.text_splits import Task

UrgencyLevel = Literal["low", "normal", "high", "critical"]
URGENCY_LEVELS: tuple[UrgencyLevel, ...] = get_args(UrgencyLevel)
Band = Literal["high", "medium", "low"]
# ok: models ran. empty: no letters left after cleaning. unsupported_language: a language with no
# sentiment model. undetermined_language: the detector was unsure and no fallback fits the script.
Status = Literal["ok", "empty", "unsupported_language", "undetermined_language"]
LanguageMethod = Literal["given", "script", "detector", "fallback", "none"]
UNSURE = "unsure"  # the reason/category label below its probability threshold
TASKS: tuple[str, ...] = tuple(str(task) for task in Task)  # what a triage model can predict


def urgency_rank(level: UrgencyLevel) -> int:
    """Position of `level` in low < normal < high < critical."""
    return URGENCY_LEVELS.index(level)


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelScore(_Result):
    label: str
    probability: float


class LanguageInfo(_Result):
    """The language a text was routed by, how it was found and how sure that is."""

    code: str | None
    confidence: float
    method: LanguageMethod
    supported: bool
    dominant_script: str | None = None
    mixed_scripts: bool = False
    alternatives: list[LabelScore] = []


class SentimentResult(_Result):
    label: str
    probability: float
    band: Band
    probabilities: dict[str, float]


ComplaintSource = Literal["model", "inquiry"]


class ComplaintResult(_Result):
    """is_complaint := P(negative) from the sentiment model >= threshold (see engine docs),
    unless the message asks or requests with no negative evidence (`source: inquiry`, the
    markers in `matched`; models/triage/inquiry.py). `probability` is always the model's."""

    is_complaint: bool
    probability: float
    threshold: float
    source: ComplaintSource = "model"
    matched: list[str] = []


LabelSource = Literal["model", "keywords"]


class LabelResult(_Result):
    """A reason or category: the label (or "unsure" below its threshold) and the top candidates.

    From keyword rules (`source: keywords`, models/triage/reason_keywords.py) there is no
    probability, band or candidate list: a keyword match is not a measured confidence, and a
    made-up 1.0 would read as one (and feed strong-negativity style rules). `matched` lists the
    keywords that decided it.
    """

    taxonomy: str
    label: str
    probability: float | None
    band: Band | None
    top: list[LabelScore]
    source: LabelSource = "model"
    matched: list[str] = []


class FiredRule(_Result):
    rule: str
    level: UrgencyLevel
    reason: str


class UrgencyResult(_Result):
    """The highest level among the base level and every rule that fired, with each reason."""

    level: UrgencyLevel
    fired: list[FiredRule]


class RoutingResult(_Result):
    queue: str
    rule: str | None  # None: no rule matched, the default queue


class EvidenceTerm(_Result):
    term: str
    weight: float


class Evidence(_Result):
    """Terms of the text that pushed `task`'s model towards `label` (from `explain`)."""

    task: str
    label: str
    terms: list[EvidenceTerm]


class ModelUsed(_Result):
    task: str
    language: str
    name: str
    version: str | None = None


class TriageResult(_Result):
    """Everything triage decided about one text, and why."""

    status: Status
    language: LanguageInfo
    sentiment: SentimentResult | None = None
    complaint: ComplaintResult | None = None
    reason: LabelResult | None = None
    category: LabelResult | None = None
    urgency: UrgencyResult
    routing: RoutingResult
    evidence: list[Evidence] = []
    truncated: bool = False
    original_chars: int = 0
    models: list[ModelUsed] = []
    warnings: list[str] = []
    customer_id: str | None = None
    prior_contacts: int = 0
