"""The field types request bodies share, and `RequestBody`, the base of every request body.

An id is checked by the store's own rule (`data.events.check_identifier`), so a body the schema
accepts is never refused later by the store; its JSON schema carries the same rule as a pattern.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from data.events import (
    ENTITY_ID_LENGTH,
    EVENT_ID_LENGTH,
    MAX_FUTURE_S,
    InvalidFieldError,
    check_identifier,
    check_stored_text,
    finer_unit_hint,
)
from data.language_codes import LanguageCodeError, iso_639_1_pattern, normalise_language_code
from data.schemas import TAG_SEPARATOR
from data.store.published_items import GENRE_LENGTH
from data.store.tables import (
    CORRECTION_ID_LENGTH,
    IDEMPOTENCY_KEY_LENGTH,
    LABEL_LENGTH,
    PUBLISHED_TITLE_LENGTH,
    RESOLUTION_ID_LENGTH,
    RETIREMENT_REASON_LENGTH,
    TRIAGE_ID_LENGTH,
)

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


def no_text_nor_bool(value: object) -> object:
    # pydantic's lax mode would read "5" or true as a number; the JSON schema says they are
    # not, so they are refused. (Strict mode would also refuse 5.0, which JSON Schema calls
    # an integer.)
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


Count = Annotated[int, BeforeValidator(no_text_nor_bool)]
Number = Annotated[float, BeforeValidator(no_text_nor_bool)]


class RequestBody(BaseModel):
    """The base of every request body: a flat JSON object, unknown fields refused."""

    # hide_input_in_errors: a refused body's values (a text's beginning) never reach the error
    # message, which BentoML logs with its traceback.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def not_too_far_ahead(timestamp: int) -> int:
    """A time at most a day past now (a triage's occurred_at, an event's timestamp)."""
    latest = int(time.time()) + MAX_FUTURE_S
    if timestamp > latest:
        hint = finer_unit_hint(timestamp, latest)
        raise ValueError(f"timestamp must be at most a day past now ({latest}){hint}")
    return timestamp
