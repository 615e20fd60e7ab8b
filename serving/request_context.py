"""What a handler reads from the request besides its body: the agent (the name of the API key
that sent it) and a retry's key (the body's id field, else the `Idempotency-Key` header)."""

from __future__ import annotations

import bentoml

from serving.errors import ApiError
from serving.schemas.idempotency import idempotency_key_of, one_idempotency_header


def retry_key_of(ctx: bentoml.Context, in_body: str | None, field: str) -> str | None:
    """The id `field` from the body or the `Idempotency-Key` header: a gateway that retries a
    POST with that header stored a correction twice when only the body's id counted."""
    try:
        in_header = one_idempotency_header(ctx.request.headers.getlist("idempotency-key"))
        return idempotency_key_of(in_body, in_header, field)
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def agent_of(ctx: bentoml.Context, what: str = "a correction") -> str:
    """The name of the key that sent the request (serving.api_key_guard puts it in the scope)."""
    state = ctx.request.scope.get("state") or {}
    name = getattr(state.get("principal"), "name", None)
    if not name:
        raise ApiError(401, f"{what} needs an agent's API key: its name is the agent")
    return str(name)
