"""Request and response bodies of the HTTP API. Validation here turns bad input into a 400
with a message naming the field, before any model runs.

Request bodies are flat JSON objects (`{"user_id": "196", "k": 10}`); unknown fields are refused.
An id is checked by the store's own rule (`data.events.check_identifier`), so a body the schema
accepts is never refused later by the store; its JSON schema carries the same rule as a pattern.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from data.events import (
    ENTITY_ID_LENGTH,
    EVENT_ID_LENGTH,
    EVENT_TYPES,
    MAX_EVENT_WEIGHT,
    MAX_FUTURE_S,
    InvalidFieldError,
    check_identifier,
    check_stored_text,
    finer_unit_hint,
)
from data.language_codes import LanguageCodeError, iso_639_1_pattern, normalise_language_code
from data.schemas import TAG_SEPARATOR
from data.store.item_retirements import MAX_ITEMS_PER_CHANGE
from data.store.published_items import (
    GENRE_LENGTH,
    MAX_GENRES,
    MAX_PUBLISHED_PER_CALL,
    text_problem,
)
from data.store.resolutions import (
    MAX_RESOLUTION_BYTES,
    OUTCOMES,
    control_character_in,
    resolution_too_long,
)
from data.store.tables import (
    CORRECTION_ID_LENGTH,
    IDEMPOTENCY_KEY_LENGTH,
    LABEL_LENGTH,
    PUBLISHED_TEXT_LENGTH,
    PUBLISHED_TITLE_LENGTH,
    RESOLUTION_ID_LENGTH,
    RETIREMENT_REASON_LENGTH,
    TRIAGE_ID_LENGTH,
)
from models.triage.schema import TriageResult
from serving.errors import validation_text
from serving.settings import MAX_BATCH, MAX_TEXT_BYTES

# data.events' rules as patterns. Text: not blank, no control characters (Unicode Cc). An id,
# compared exactly, also starts and ends with something other than a space.
_NO_CONTROL = r"[^\u0000-\u001f\u007f-\u009f]"
_EDGE = r"[^\s\u0000-\u001f\u007f-\u009f]"
TEXT_PATTERN = rf"^{_NO_CONTROL}*{_EDGE}{_NO_CONTROL}*$"
ID_PATTERN = rf"^{_EDGE}({_NO_CONTROL}*{_EDGE})?$"
# Prose (an item's description; a resolution, which is not blank): paragraphs, so tabs and line
# breaks too.
_PROSE = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]"
PROSE_PATTERN = rf"^{_PROSE}*$"
NOTE_PATTERN = rf"^{_PROSE}*{_EDGE}{_PROSE}*$"


# The store's messages quote the value; BentoML logs a refusal's message with its traceback, so
# these say why without quoting (no request content in a log line).
def _storable_id(value: str) -> str:
    try:
        return check_identifier("id", value, len(value))
    except InvalidFieldError:
        raise ValueError(
            "must not be blank, start or end with spaces, nor contain control characters"
        ) from None


def _storable_text(value: str) -> str:
    try:
        return check_stored_text("text", value, len(value))
    except InvalidFieldError:
        raise ValueError("must not be blank nor contain control characters") from None


def _no_tag_separator(value: str) -> str:
    if TAG_SEPARATOR in value:
        raise ValueError(f"must not contain '{TAG_SEPARATOR}' (it separates stored genres)")
    return value


def _stored_id(max_length: int, exact: bool = True) -> Any:
    """A string the store can hold in a column of `max_length` (see data.store.tables); not
    `exact`: a label, matched with case and outer spaces folded (spaces allowed)."""
    return Annotated[
        str,
        Field(
            min_length=1,
            max_length=max_length,
            json_schema_extra={"pattern": ID_PATTERN if exact else TEXT_PATTERN},
        ),
        AfterValidator(_storable_id if exact else _storable_text),
    ]


Identifier = _stored_id(ENTITY_ID_LENGTH)
EventId = _stored_id(EVENT_ID_LENGTH)
IdempotencyKey = _stored_id(IDEMPOTENCY_KEY_LENGTH)
TriageId = _stored_id(TRIAGE_ID_LENGTH)
CorrectionId = _stored_id(CORRECTION_ID_LENGTH)
ResolutionId = _stored_id(RESOLUTION_ID_LENGTH)
Label = _stored_id(LABEL_LENGTH, exact=False)
RetirementReason = _stored_id(RETIREMENT_REASON_LENGTH, exact=False)
ItemTitle = _stored_id(PUBLISHED_TITLE_LENGTH, exact=False)
# A genre is a label without the separator of a stored genre list ("Action|Sci-Fi"); the one
# published pattern says both rules (a second `pattern` would replace the first).
_GENRE_CHAR = r"[^|\u0000-\u001f\u007f-\u009f]"
_GENRE_EDGE = r"[^|\s\u0000-\u001f\u007f-\u009f]"
Genre = Annotated[
    str,
    Field(
        min_length=1,
        max_length=GENRE_LENGTH,
        json_schema_extra={"pattern": rf"^{_GENRE_CHAR}*{_GENRE_EDGE}{_GENRE_CHAR}*$"},
    ),
    AfterValidator(_storable_text),
    AfterValidator(_no_tag_separator),
]
# The `Idempotency-Key` header a gateway or client library sends with a retried POST: each
# route that takes it reads it as its own id field (serving.openapi documents it there).
HEADER_KEYED_FIELDS: dict[str, TypeAdapter[str]] = {
    "idempotency_key": TypeAdapter(IdempotencyKey),
    "correction_id": TypeAdapter(CorrectionId),
    "resolution_id": TypeAdapter(ResolutionId),
}
# Clients send what their platform calls the language: a BCP 47 tag ("zh-CN" is what browsers
# and most mobile SDKs give), a POSIX locale ("zh_CN") or a bare code. Models are per language,
# so the primary subtag decides, as `agora data import --language` reads it ("zh-CN" used to be
# a 400 naming a regular expression).
_LANGUAGE_TAG = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"
# What the document declares: the same, with a two-letter language one of ISO 639-1 (a
# generated "eq" was a 400 the schema allowed, so a client validating by it learnt the rule
# only from the refusal). Validation keeps the shape above, whose 400 names the code it refuses.
_DECLARED_LANGUAGE_TAG = rf"^({iso_639_1_pattern()}|[A-Za-z]{{3}})([-_][A-Za-z0-9]{{1,8}})*$"
# ISO 639-2/3 codes of the languages triage serves, read as their ISO 639-1 code; other
# three-letter codes pass as given (answered `unsupported_language`).
_THREE_LETTER_CODES = {"zho": "zh", "chi": "zh", "cmn": "zh", "eng": "en"}


def _language_code(value: str) -> str:
    primary = re.split(r"[-_]", value, maxsplit=1)[0].lower()
    if len(primary) == 3:
        return _THREE_LETTER_CODES.get(primary, primary)
    try:
        return normalise_language_code(primary)
    except LanguageCodeError:
        # "cn" is a country: it was answered unsupported_language, as if Chinese had no model.
        raise ValueError(
            f"'{primary}' is not an ISO 639-1 language code (e.g. en, zh; a tag such as zh-CN "
            "is read as zh)"
        ) from None


LanguageCode = Annotated[
    str,
    Field(
        pattern=_LANGUAGE_TAG,
        max_length=35,
        json_schema_extra={"pattern": _DECLARED_LANGUAGE_TAG},
        description="An ISO 639 code such as 'en' or 'zh', or a tag such as 'zh-CN' (read as "
        "its language, 'zh').",
    ),
    AfterValidator(_language_code),
]


def _no_text_nor_bool(value: object) -> object:
    # pydantic's lax mode would read "5" or true as a number; the JSON schema says they are
    # not, so they are refused. (Strict mode would also refuse 5.0, which JSON Schema calls
    # an integer.)
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


Count = Annotated[int, BeforeValidator(_no_text_nor_bool)]
Number = Annotated[float, BeforeValidator(_no_text_nor_bool)]


def _within_size(text: str) -> str:
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise ValueError(f"text is {size:,} bytes; the limit is {MAX_TEXT_BYTES:,} (100 KB)")
    return text


TriageText = Annotated[str, AfterValidator(_within_size)]


class _Body(BaseModel):
    # hide_input_in_errors: a refused body's values (a text's beginning) never reach the error
    # message, which BentoML logs with its traceback.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


# Recency filters' bounds: ten years of age, and times below 1e11 s (a millisecond value such
# as Date.now() gives is larger, and is refused rather than read as the year 5138).
MAX_AGE_DAYS = 3_650
MAX_PUBLISHED_AFTER = 100_000_000_000


class Filters(_Body):
    include_genres: list[str] = Field(default_factory=list, max_length=100)
    exclude_genres: list[str] = Field(default_factory=list, max_length=100)
    include_item_ids: list[Identifier] = Field(default_factory=list, max_length=10_000)
    exclude_item_ids: list[Identifier] = Field(default_factory=list, max_length=10_000)
    # The bounds before the validator, so they reach the schema as JSON Schema's keywords.
    published_after: (
        Annotated[int, Field(ge=0, lt=MAX_PUBLISHED_AFTER), BeforeValidator(_no_text_nor_bool)]
        | None
    ) = Field(
        None,
        description="Only items published at or after this time (epoch seconds); items whose "
        "publication time is unknown are left out. A 409 if the served model's items have none.",
    )
    max_age_days: (
        Annotated[
            float,
            Field(gt=0, le=MAX_AGE_DAYS, allow_inf_nan=False),
            BeforeValidator(_no_text_nor_bool),
        ]
        | None
    ) = Field(
        None,
        description="Only items published within this many days before now (e.g. 7); as "
        "published_after, which it replaces (give one of the two).",
    )

    @model_validator(mode="after")
    def _one_recency_bound(self) -> Filters:
        if self.published_after is not None and self.max_age_days is not None:
            raise ValueError("give published_after or max_age_days, not both")
        return self

    def published_since(self, now: float) -> int | None:
        """The earliest publication time these filters admit (None: any)."""
        if self.max_age_days is not None:
            return int(now - self.max_age_days * 86_400)
        return self.published_after


class RecommendRequest(_Body):
    user_id: Identifier
    k: Count = Field(10, ge=1, le=100)
    exclude_seen: StrictBool = True
    filters: Filters | None = None
    recent_items: list[Identifier] = Field(
        default_factory=list,
        max_length=500,
        description="Items a user the model does not know has engaged with (cold start).",
    )
    query: str | None = Field(
        None, max_length=1_000, description="Free-text interests for a brand-new user."
    )


class ModelRef(BaseModel):
    name: str
    version: str
    source: str  # "registry" or "local-cache"


class RecommendedItem(BaseModel):
    item_id: str
    score: float
    title: str | None = None
    genres: list[str] = Field(default_factory=list)
    published_at: int | None = Field(
        None,
        description="When the item was published (epoch seconds), from the items file's "
        "published_at or, for a fresh item, when POST /items stored it; null: unknown.",
    )
    fresh: bool = Field(
        False,
        description="Published after the model was trained (POST /items): its score is the "
        "cosine of its content to the user's taste, not the model's score.",
    )


class RecommendResponse(BaseModel):
    user_id: str
    items: list[RecommendedItem]
    strategy: Literal["personalized", "cold-start-content", "popular-fallback"]
    model: ModelRef


class SimilarItemsRequest(_Body):
    item_id: Identifier
    k: Count = Field(10, ge=1, le=100)


class SimilarItemsResponse(BaseModel):
    item_id: str
    items: list[RecommendedItem]
    model: ModelRef


# `TriageRequest._key_needs_a_customer` as JSON Schema; serving.openapi adds it to the published
# schema (BentoML's own document generator refuses `if`, so it cannot sit in the model).
TRIAGE_KEY_RULE = {
    "if": {"properties": {"idempotency_key": {"type": "string"}}, "required": ["idempotency_key"]},
    "then": {"properties": {"customer_id": {"type": "string"}}, "required": ["customer_id"]},
}


def _not_too_far_ahead(timestamp: int) -> int:
    latest = int(time.time()) + MAX_FUTURE_S
    if timestamp > latest:
        hint = finer_unit_hint(timestamp, latest)
        raise ValueError(f"timestamp must be at most a day past now ({latest}){hint}")
    return timestamp


def _epoch_seconds(value: object) -> object:
    # An ISO-8601 string is what most event exports hold; say what to send instead of the
    # generic "must be a JSON number".
    if isinstance(value, str):
        raise ValueError(
            "timestamp must be whole epoch seconds as a JSON number (e.g. "
            f"{int(time.time())}), not a string"
        )
    return value


class TriageRequest(_Body):
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
            BeforeValidator(_no_text_nor_bool),
            AfterValidator(_not_too_far_ahead),
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


class TriageBatchRequest(_Body):
    texts: list[TriageText] = Field(min_length=1, max_length=MAX_BATCH)
    language: LanguageCode | None = None


class TriageBatchResponse(BaseModel):
    results: list[TriageResult]


class EventIn(_Body):
    event_id: EventId
    user_id: Identifier
    item_id: Identifier
    type: Literal[EVENT_TYPES]  # type: ignore[valid-type]
    timestamp: Annotated[
        Count, BeforeValidator(_epoch_seconds), AfterValidator(_not_too_far_ahead)
    ] = Field(
        default_factory=lambda: int(time.time()),
        ge=0,
        # The bound moves with the clock, so it is said in words, not as a `maximum`: a client
        # generated from the document would keep the number and refuse every event a day later.
        description="Epoch seconds, at most a day past now; the time of receipt by default.",
    )
    weight: Number = Field(1.0, ge=0, le=MAX_EVENT_WEIGHT, allow_inf_nan=False)


class EventsRequest(_Body):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventsResponse(BaseModel):
    accepted: int
    duplicates: int


class _AgentNote(_Body):
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
            "/desk/queue lists every language's as `choices`. Another label is a 400."
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


class RestoreItemsRequest(_Body):
    item_ids: list[Identifier] = Field(
        min_length=1,
        max_length=MAX_ITEMS_PER_CHANGE,
        description=f"The items to change (1-{MAX_ITEMS_PER_CHANGE:,}; a repeated id counts once).",
    )


class RetireItemsRequest(RestoreItemsRequest):
    reason: RetirementReason | None = Field(
        None,
        description="Why, for the record (a moderation code, 'out of stock'); stored as sent "
        f"(at most {RETIREMENT_REASON_LENGTH} characters): never write personal data here.",
    )


class ItemsChangedResponse(BaseModel):
    changed: list[str] = Field(description="The items whose state this call changed.")
    unchanged: list[str] = Field(
        description="The items already in the state asked for (retired, or not retired)."
    )
    retired_now: int = Field(description="How many items this service holds retired now.")


class PublishedItemIn(_Body):
    item_id: Identifier
    title: ItemTitle  # type: ignore[valid-type]
    text: str = Field(
        "",
        max_length=PUBLISHED_TEXT_LENGTH,
        json_schema_extra={"pattern": PROSE_PATTERN},
        description="What the item is about, as the content encoder should read it "
        f"(at most {PUBLISHED_TEXT_LENGTH:,} characters).",
    )
    genres: list[Genre] = Field(default_factory=list, max_length=MAX_GENRES)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _text_is_storable(self) -> PublishedItemIn:
        if (problem := text_problem(self.text)) is not None:
            raise ValueError(problem)
        return self


class PublishItemsRequest(_Body):
    items: list[PublishedItemIn] = Field(min_length=1, max_length=MAX_PUBLISHED_PER_CALL)


class PublishItemsResponse(BaseModel):
    stored: list[str] = Field(description="The items stored (new, or changed).")
    unchanged: list[str] = Field(description="The items already published with this content.")
    fresh_now: int = Field(
        description="How many published items this worker serves as fresh now (those the "
        "served model does not know)."
    )


class ReloadRequest(_Body):
    """`/admin/reload` takes an empty body or `{}`."""


class ServedModelInfo(BaseModel):
    name: str
    version: str
    source: str  # "registry" or "local-cache"
    fetched_at: str
    registry_error: str | None = None
    binding: str | None = Field(
        None,
        description="Why the slot serves this registered model: 'environment' (pinned by "
        "AGORA_TRIAGE_MODELS / AGORA_RECOMMENDER_MODEL), 'registry' (bound by `agora models "
        "promote --slot`), 'local-cache' (that binding as last read, the registry being "
        "unreachable) or 'default' (nothing bound).",
    )


class ModelInfo(BaseModel):
    ready: bool
    loaded_at: str | None = None
    models: dict[str, ServedModelInfo]
    problems: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Slot -> why it is not served; also 'triage_config' (a triage config file not "
            "reloaded) and 'routing' (routing rules that never match the served models' labels)."
        ),
    )
    tracking_uri: str | None = Field(None, description="Credentials masked.")


class ReloadResponse(ModelInfo):
    reloaded: bool
    changed: bool = Field(description="True when a served version changed.")


def one_idempotency_header(values: list[str]) -> str | None:
    """The request's one `Idempotency-Key` header (None: not sent); ValueError for two different
    ones. Only the first was read, so a retry that carried the other stored the same message
    again under a second key, and which one a client or gateway meant is a guess."""
    if len(set(values)) > 1:
        raise ValueError(
            f"the request sends {len(set(values))} different Idempotency-Key headers: send one"
        )
    return values[0] if values else None


def idempotency_key_of(
    in_body: str | None, in_header: str | None, field: str = "idempotency_key"
) -> str | None:
    """A retry's key from the body's `field` (a triage's `idempotency_key`, a correction's
    `correction_id`, a resolution's `resolution_id`), else the `Idempotency-Key` header.

    The body's id wins: a gateway may stamp a key of its own on a request whose client already
    named it (two different keys were a 400, which refused a valid request). ValueError when
    the header is not a valid value of `field`, whichever wins: the document declares its form.
    """
    if in_header is None:
        return in_body
    # HTTP hands header bytes over as Latin-1; a client that sent a UTF-8 key (`ключ`) means
    # the key those bytes spell in UTF-8, as the same key in the JSON body does. Bytes that are
    # not UTF-8 are validated as received.
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        in_header = in_header.encode("latin-1").decode("utf-8")
    try:
        header_key = HEADER_KEYED_FIELDS[field].validate_python(in_header)
    except ValidationError as error:
        reason = validation_text(error.errors(include_input=False)[0]["msg"])
        raise ValueError(f"Idempotency-Key header: {reason}") from None
    return header_key if in_body is None else in_body
