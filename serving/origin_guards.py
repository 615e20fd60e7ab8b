"""Who may address the service: the Host names it answers (`HostGuard`) and the browser origins
that may call it cross-site (`CorsGuard`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.errors import reject
from serving.settings import UNSHED_PATHS, allowed_hosts, allowed_origins

logger = logging.getLogger(__name__)

CORS_HEADERS = ("content-type", "x-api-key", "authorization", "idempotency-key")
CORS_EXPOSED_HEADERS = ("x-bentoml-request-id", "retry-after")


def _host_name(host_header: str) -> str:
    """The Host header without its port ("[::1]:3000" -> "[::1]", "a.b:80" -> "a.b")."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HostGuard:
    """400 unless the Host header names an allowed host (`AGORA_ALLOWED_HOSTS`).

    Health and metrics are exempt: orchestrator probes address pods by IP.
    """

    def __init__(self, app: ASGIApp, hosts: Iterable[str] | None = None) -> None:
        self.app = app
        names = list(hosts) if hosts is not None else allowed_hosts()
        self.any_host = "*" in names
        self.hosts = frozenset(name.lower() for name in names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.any_host or scope["path"] in UNSHED_PATHS:
            await self.app(scope, receive, send)
            return
        host = _host_name(Headers(scope=scope).get("host", ""))
        if host not in self.hosts:
            await reject(
                scope, receive, send, 400, "this Host is not served: see AGORA_ALLOWED_HOSTS"
            )
            return
        await self.app(scope, receive, send)


class CorsGuard:
    """Cross-origin access for the configured origins only (none by default: no CORS headers)."""

    def __init__(self, app: ASGIApp, origins: Iterable[str] | None = None) -> None:
        allowed = list(origins) if origins is not None else allowed_origins()
        self.app: ASGIApp = app
        if allowed:
            self.app = CORSMiddleware(
                app,
                allow_origins=allowed,
                allow_methods=["GET", "POST"],
                allow_headers=list(CORS_HEADERS),
                # A browser hides other answer headers from the page: the request id is what
                # a support ticket quotes, Retry-After what a shed or outage asks for.
                expose_headers=list(CORS_EXPOSED_HEADERS),
                max_age=600,
            )
            logger.info("cross-origin requests allowed from %s", allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
