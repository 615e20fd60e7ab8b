"""What the desk queue and the complaint analytics answer, as models for the API document.

`GET /desk/queue`, `GET /analytics/complaints` and `POST /admin/analyse` build their answers as
plain dicts (the store's dataclasses, the summary `agora report complaints` renders too). The
document described them as "any object", so a generated client handed its users an untyped
dict and left them to guess every field. These models describe the answers; `serving.openapi`
publishes them, and the tests check that the routes' real answers round-trip through them
unchanged (a field added to an answer and not here fails there).

They are not `extra="forbid"`: a client generated from the document should keep working when a
later version adds a field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from models.triage.schema import Evidence
from serving.schemas.triage import SimilarCaseOut

# -- GET /desk/queue ------------------------------------------------------------------------------


class CaseResolution(BaseModel):
    """A case's latest resolution (an open case's is a `not_resolved` attempt)."""

    resolution_id: str = Field(description="What a resolution that replaces this one names.")
    outcome: str = Field(description="resolved, workaround or not_resolved.")
    resolution: str = Field(description="What was done (redacted).")
    agent: str = Field(description="The name of the key that recorded it.")
    created_at: float = Field(description="Epoch seconds.")


class QueuedCaseOut(BaseModel):
    """One triaged case as the desk shows it; labels as the models gave them (`corrections`
    holds each field's latest correction)."""

    triage_id: str
    created_at: float = Field(description="When the service recorded it (epoch seconds).")
    occurred_at: float | None = Field(description="When the message was written, if sent.")
    customer_id: str | None
    item_id: str | None
    text: str = Field(description="The redacted text's first 4,000 characters.")
    text_chars: int = Field(description="The whole text's length (more than `text` when cut).")
    language: str
    is_complaint: bool
    sentiment: str | None
    reason: str | None
    category: str | None
    queue: str | None
    urgency: str | None
    evidence: list[Evidence]
    corrections: dict[str, str] = Field(description="Field -> its latest corrected label.")
    resolution: CaseResolution | None
    similar_cases: list[SimilarCaseOut] = Field(
        description="Resolved cases like this one (complaints only)."
    )


class QueueWindow(BaseModel):
    since: float = Field(description="Epoch seconds.")
    until: float = Field(description="Epoch seconds.")


class QueueFilters(BaseModel):
    status: str = Field(description="open, resolved or all.")
    queue: str | None
    urgency: str | None


class DeskQueuePage(BaseModel):
    """A page of the desk's queue, most urgent first."""

    cases: list[QueuedCaseOut]
    total: int = Field(description="How many cases match over all pages.")
    next_cursor: str | None = Field(description="The next page's `cursor` (null: the last).")
    window: QueueWindow = Field(description="The window the pages read.")
    filters: QueueFilters
    choices: dict[str, list[str]] = Field(
        description="The labels each field may be corrected to (POST /corrections)."
    )
    language_choices: dict[str, dict[str, list[str]]] = Field(
        description=(
            "Per language, the fields a model of that language answers and its labels: for a "
            "case of that language these replace `choices` (POST /corrections refuses others)."
        )
    )
    outcomes: list[str] = Field(description="The outcomes a resolution may have.")


# -- GET /analytics/complaints ---------------------------------------------------------------------


class GroupSeries(BaseModel):
    group: str
    total: int
    counts: list[int] = Field(description="Complaints per day, one per entry of `days`.")


class TopItem(BaseModel):
    item_id: str
    complaints: int


class RaisedAlert(BaseModel):
    """An alert the spike analysis raised (its `details` are the test's figures)."""

    alert_key: str
    dimension: str
    group_value: str
    window_start: float
    window_end: float
    details: dict[str, Any]
    created_at: float


class EmergingTermOut(BaseModel):
    term: str
    recent_texts: int
    baseline_texts: int
    recent_share: float
    baseline_share: float
    score: float = Field(description="z-score of the weighted log-odds ratio, recent/baseline.")


class ComplaintSummary(BaseModel):
    """Complaints per group per day over whole days of `time_zone`."""

    since: float = Field(description="The first day's start (epoch seconds).")
    until: float = Field(description="The last day's end (epoch seconds).")
    by: str
    time_zone: str
    days: list[str] = Field(description="ISO dates; every series has one entry per day.")
    groups: list[GroupSeries]
    other: list[int] = Field(description="Complaints per day of the groups not listed.")
    messages: list[int] = Field(description="Triaged messages per day.")
    complaints: list[int] = Field(description="Complaints per day.")
    negative_share: list[float | None] = Field(description="Null on a day without messages.")
    top_items: list[TopItem]
    alerts: list[RaisedAlert]
    emerging_terms: list[EmergingTermOut]


# -- POST /admin/analyse ---------------------------------------------------------------------------


class SpikeAlert(BaseModel):
    """A spike of one group in the analysed window, with the test that found it."""

    key: str
    dimension: str
    group: str
    window_start: float
    window_end: float
    episode_start: float
    count: int
    volume: int
    baseline_count: int
    baseline_volume: int
    baseline_windows: int
    expected: float
    ratio: float | None = Field(description="Null when the baseline had none.")
    dispersion: float
    p_value: float
    p_adjusted: float
    test: str
    alpha: float


class FoundSpike(SpikeAlert):
    episode_windows: int = Field(description="How many windows the episode has lasted.")


class AnalysisRun(BaseModel):
    window_start: float
    window_end: float
    dimensions: list[str]
    spikes: list[FoundSpike] = Field(description="Spikes found, new or continuing.")
    raised: list[SpikeAlert] = Field(description="The alerts this call raised.")
