"""API-key check for every endpoint except health, readiness, metrics and the API docs."""

from __future__ import annotations

import hmac
import os

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from serving.settings import API_KEY_ENV

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/metrics", "/", "/docs.json"})
OPEN_PREFIXES = ("/static_content/",)


def _presented_key(request: Request) -> str | None:
    if key := request.headers.get("x-api-key"):
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


class ApiKeyMiddleware(BaseHTTPMiddleware):
    """401 unless the request carries AGORA_API_KEY (X-API-Key or Authorization: Bearer)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        expected = os.environ.get(API_KEY_ENV)
        path = request.url.path
        if not expected or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return await call_next(request)
        presented = _presented_key(request)
        if presented is None or not hmac.compare_digest(presented.encode(), expected.encode()):
            return JSONResponse(
                {"error": "missing or wrong API key: send X-API-Key or Authorization: Bearer"},
                status_code=401,
            )
        return await call_next(request)
