"""The keyed routes' guard: 401 without a known API key, 403 for a role the route does not admit.

The principal a key names goes into `scope["state"]["principal"]`, where the handlers read the
agent of a correction, a resolution or a catalog change.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.auth import CredentialError, Principal, check_start_keys, presented_keys
from serving.errors import reject
from serving.settings import OPEN_PATHS, OPEN_PREFIXES, roles_for

INSECURE_PRINCIPAL = Principal(role="insecure-dev", name="insecure-dev")
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


# A refusal names the path the client sent, cut to this many characters: the limit on a request
# line is a few KB, and a refusal of an unkeyed caller need not echo all of it back.
_SHOWN_PATH_CHARS = 120


def _shown(path: str) -> str:
    return path if len(path) <= _SHOWN_PATH_CHARS else f"{path[:_SHOWN_PATH_CHARS]}..."


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class ApiKeyGuard:
    """401 without a known key, 403 when its role may not call the route.

    Parses `AGORA_API_KEYS` when the worker builds its middleware stack; a bad configuration
    raises there, so a worker never serves with keys it could not read.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.ring = check_start_keys()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        if self.ring is None:
            state["principal"] = INSECURE_PRINCIPAL
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        roles = roles_for(path)
        if roles is None:  # RouteGuard answers these first; kept so this guard stands alone
            await reject(scope, receive, send, 404, "no such route: see /docs.json for the API")
            return
        headers = Headers(scope=scope)
        try:
            keys = presented_keys(headers.getlist("x-api-key"), headers.getlist("authorization"))
        except CredentialError as error:
            await reject(scope, receive, send, 401, str(error), headers=BEARER_CHALLENGE)
            return
        if len(keys) > 1:
            # Which one would count is a guess (a gateway may have checked the other): neither.
            await reject(
                scope,
                receive,
                send,
                401,
                f"the request sends {len(keys)} different API keys (X-API-Key, Authorization: "
                "Bearer): send one",
                headers=BEARER_CHALLENGE,
            )
            return
        key = next(iter(keys), None)
        principal = self.ring.identify(key) if key else None
        if principal is None:
            what = "an unknown API key" if key else "no API key"
            await reject(
                scope,
                receive,
                send,
                401,
                f"{_shown(path)} needs an API key and the request has {what}: send it as X-API-Key "
                "or Authorization: Bearer",
                headers=BEARER_CHALLENGE,
            )
            return
        if principal.role not in roles:
            await reject(
                scope,
                receive,
                send,
                403,
                f"key {principal.name!r} has role {principal.role!r}; {_shown(path)} needs "
                f"{' or '.join(sorted(roles))}",
            )
            return
        state["principal"] = principal
        await self.app(scope, receive, send)
