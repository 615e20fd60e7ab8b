"""Bodies of `/triage` and `/triage_batch`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from models.triage.schema import TriageResult
from serving.schemas.fields import (
    IdempotencyKey,
    Identifier,
    LanguageCode,
    RequestBody,
    no_text_nor_bool,
    not_too_far_ahead,
)
from serving.settings import MAX_BATCH, MAX_TEXT_BYTES


def _within_size(text: str) -> str:
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise ValueError(f"text is {size:,} bytes; the limit is {MAX_TEXT_BYTES:,} (100 KB)")
    return text


TriageText = Annotated[str, AfterValidator(_within_size)]


# `TriageRequest._key_needs_a_customer` as JSON Schema; serving.openapi adds it to the published
# schema (BentoML's own document generator refuses `if`, so it cannot sit in the model).
TRIAGE_KEY_RULE = {
    "if": {"properties": {"idempotency_key": {"type": "string"}}, "required": ["idempotency_key"]},
    "then": {"properties": {"customer_id": {"type": "string"}}, "required": ["customer_id"]},
}


class TriageRequest(RequestBody):
    text: TriageText
    language: LanguageCode | None = None
    customer_id: Identifier | None = None
    item_id: Identifier | None = Field(None, description="The item the feedback is about.")
    idempotency_key: IdempotencyKey | None = Field(
        None,
        description=(
            "A retry with the same key (and customer_id) returns the first triage_id and adds "
            "no contact. Needs a customer_id. The Idempotency-Key header is accepted too."
        ),
    )
    # The bound before the validators: placed after them (or on the optional field) it reaches
    # the JSON schema as pydantic's "ge", which generated clients ignore, not as "minimum".
    occurred_at: (
        Annotated[
            int,
            Field(ge=0),
            BeforeValidator(no_text_nor_bool),
            AfterValidator(not_too_far_ahead),
        ]
        | None
    ) = Field(
        None,
        description=(
            "When the message was written (epoch seconds, at most a day past now), for a "
            "forwarded or older message; complaint analytics count it then. Default: receipt."
        ),
    )

    @model_validator(mode="after")
    def _key_needs_a_customer(self) -> TriageRequest:
        if self.idempotency_key is not None and self.customer_id is None:
            raise ValueError("an idempotency_key needs a customer_id (it keys a contact)")
        return self


class SimilarCaseOut(BaseModel):
    """A resolved case like the triaged message (models.knowledge.SimilarCase)."""

    triage_id: str
    similarity: float = Field(description="Cosine similarity of the two messages' embeddings.")
    reason: str | None = None
    category: str | None = None
    queue: str | None = None
    resolution: str = Field(description="How the case was resolved (redacted).")
    outcome: str
    excerpt: str = Field(description="The beginning of the case's message (redacted).")


class TriageResponse(BaseModel):
    triage_id: str | None = Field(None, description="Set when the triage was recorded.")
    result: TriageResult
    similar_cases: list[SimilarCaseOut] = Field(
        default_factory=list,
        description="Resolved cases most like this message, best first, above a similarity "
        "threshold (empty when none is close enough or AGORA_SIMILAR_CASES=0).",
    )


class TriageBatchRequest(RequestBody):
    texts: list[TriageText] = Field(min_length=1, max_length=MAX_BATCH)
    language: LanguageCode | None = None


class TriageBatchResponse(BaseModel):
    results: list[TriageResult]
