"""`DELETE /users/{user_id}`: erase everything the store holds of one customer (admin keys only).

An operator honouring an erasure request (PIPL art. 47, GDPR art. 17) calls it with the
customer's id; the answer counts the rows erased per table (`data.store.erasure`). An id the
store never held is answered 200 with zeros, not 404: the caller cannot know whether we held
data, and "erased" is true either way. Each call writes an audit row naming the key.

The id may hold `/` (sent as %2F, decoded before routing), as the profile route's does. A path
`/users/a/profile` is therefore both "the profile of a" and "the user a/profile": the key guard
checks the roles of the profile route for it, so this handler checks the admin role itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from data.store import InvalidErasureError, Store
from serving.api_key_guard import INSECURE_PRINCIPAL
from serving.profile_routes import check_path_user_id
from serving.settings import ROUTE_ROLES

ERASE_ROUTE: Final = "/users/{user_id}"


class ErasureAnswer(BaseModel):
    user_id: str
    erased: dict[str, int] = Field(
        description="Rows erased per table (events, triage_records, corrections, resolutions, "
        "user_segments); zeros when the store held nothing of the user."
    )


class ErasureSource(Protocol):
    """What the route needs of the running service."""

    store: Store


def _requester(request: Request) -> str:
    """The key's name, after checking its role may erase (see the module docstring)."""
    principal = request.scope.get("state", {}).get("principal")
    allowed = ROUTE_ROLES[ERASE_ROUTE]
    if principal is None:
        raise HTTPException(401, "erasing a user needs an admin API key")
    if principal != INSECURE_PRINCIPAL and principal.role not in allowed:
        raise HTTPException(
            403,
            f"key {principal.name!r} has role {principal.role!r}; erasing a user needs "
            f"{' or '.join(sorted(allowed))}",
        )
    return str(principal.name)


def install_erasure_route(app: FastAPI, running: Callable[[], ErasureSource | None]) -> None:
    """Add DELETE ERASE_ROUTE to `app`; `running` gives the service instance (None: starting)."""

    @app.delete(ERASE_ROUTE.replace("{user_id}", "{user_id:path}"), response_model=ErasureAnswer)
    def erase_user(user_id: str, request: Request) -> ErasureAnswer:
        """Erase the user's events, triage records (with their corrections and resolutions)
        and segment, in one transaction; 200 with zeros for a user the store never held."""
        requested_by = _requester(request)
        check_path_user_id(user_id)
        service = running()
        if service is None:
            raise HTTPException(503, "the service is starting")
        try:
            erased = service.store.erasures.erase_user(user_id, requested_by)
        except InvalidErasureError as error:  # a key name longer than the audit row holds
            raise HTTPException(400, str(error)) from None
        return ErasureAnswer(user_id=user_id, erased=erased)
