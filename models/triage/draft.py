"""One text's result while the triage engine works on its batch.

The engine's steps (language resolution, the task models over a language group, urgency and
routing) each fill in part of a `Draft`; it lives here, apart from the engine, because those
steps live in modules of their own and all of them read and write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from features.text import PreparedText, TextConfig
from models.triage.schema import (
    ComplaintResult,
    Evidence,
    LabelResult,
    LanguageInfo,
    ModelUsed,
    SentimentResult,
    Status,
)


@dataclass
class Draft:
    """One text's result while the batch is being worked on."""

    raw: str | bytes
    prepared: PreparedText
    customer_id: str | None
    prior_contacts: int
    warnings: list[str]
    status: Status = "ok"
    language: LanguageInfo | None = None
    inputs: dict[TextConfig, str] = field(default_factory=dict)  # model input by text handling
    sentiment: SentimentResult | None = None
    complaint: ComplaintResult | None = None
    reason: LabelResult | None = None
    category: LabelResult | None = None
    evidence: list[Evidence] = field(default_factory=list)
    models: list[ModelUsed] = field(default_factory=list)


def label_of(result: object) -> str | None:
    """The label of a draft's task field (sentiment, reason, category), None while it is null."""
    return getattr(result, "label", None)
