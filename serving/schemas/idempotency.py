"""A retry's key: the body's id field, else the `Idempotency-Key` header a gateway or client
library sends with a retried POST."""

from __future__ import annotations

import contextlib

from pydantic import TypeAdapter, ValidationError

from serving.errors import validation_text
from serving.schemas.fields import CorrectionId, IdempotencyKey, ResolutionId

# The `Idempotency-Key` header a gateway or client library sends with a retried POST: each
# route that takes it reads it as its own id field (serving.openapi documents it there).
HEADER_KEYED_FIELDS: dict[str, TypeAdapter[str]] = {
    "idempotency_key": TypeAdapter(IdempotencyKey),
    "correction_id": TypeAdapter(CorrectionId),
    "resolution_id": TypeAdapter(ResolutionId),
}


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
