"""Bodies of what an agent sends about a recorded triage: `/corrections` and `/resolutions`."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from data.store.resolutions import (
    MAX_RESOLUTION_BYTES,
    OUTCOMES,
    control_character_in,
    resolution_too_long,
)
from serving.schemas.fields import (
    NOTE_PATTERN,
    CorrectionId,
    Label,
    RequestBody,
    ResolutionId,
    TriageId,
)


class _AgentNote(RequestBody):
    """A body an agent sends about a triage record; the agent is the key's name, never a field."""

    _what: ClassVar[str] = "a note"

    @model_validator(mode="before")
    @classmethod
    def _agent_comes_from_the_key(cls, data: object) -> object:
        if isinstance(data, dict) and "agent" in data:
            raise ValueError(
                f"agent is not a body field: the agent of {cls._what} is the name of the API "
                "key that sends it"
            )
        return data


class CorrectionRequest(_AgentNote):
    _what: ClassVar[str] = "a correction"

    triage_id: TriageId
    field: Literal["sentiment", "is_complaint", "reason", "category", "urgency", "queue"]
    correct_label: Label = Field(
        description=(
            "One of the labels the served models know for `field`, those of the model of the "
            "record's language where one answers it (case and outer spaces ignored); GET "
            "/desk/queue lists them as `choices` and, per language, `language_choices`. "
            "Another label is a 400."
        )
    )
    correction_id: CorrectionId | None = Field(
        None,
        description="Makes a retry idempotent; the same id with other content is a 409. The "
        "Idempotency-Key header is accepted too.",
    )


class CorrectionResponse(BaseModel):
    correction_id: str
    stored: bool


def _resolution_size(text: str) -> str:
    if (too_long := resolution_too_long(text)) is not None:
        raise ValueError(too_long)
    # Control characters alone (NUL is stored as U+FFFD) would reach agents as an empty case.
    if not any(char.isprintable() and not char.isspace() for char in text):
        raise ValueError("resolution must not be blank (whitespace or control characters only)")
    if (problem := control_character_in(text)) is not None:
        raise ValueError(problem)
    return text


class ResolutionRequest(_AgentNote):
    _what: ClassVar[str] = "a resolution"

    triage_id: TriageId
    resolution: Annotated[
        str,
        Field(min_length=1, json_schema_extra={"pattern": NOTE_PATTERN}),
        AfterValidator(_resolution_size),
    ] = Field(
        description=f"How the case was resolved; at most {MAX_RESOLUTION_BYTES:,} bytes, stored "
        "redacted."
    )
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    resolution_id: ResolutionId | None = Field(
        None,
        description="Makes a retry idempotent; the same id with other content is a 409. The "
        "Idempotency-Key header is accepted too.",
    )
    replaces: ResolutionId | None = Field(
        None,
        description="The resolution_id of the case's latest resolution that this one replaces "
        "(a fix after a workaround, a reopening as not_resolved). A resolved case takes a new "
        "resolution only so: without it, or when it is no longer the latest, the answer is a "
        "409 naming who resolved the case and when.",
    )


class ResolutionResponse(BaseModel):
    resolution_id: str
    stored: bool = Field(description="False for a retry of a resolution already stored.")
