"""The guards every request passes before the service parses it: pure ASGI, cheapest first.

Order, outermost first:
1. `RouteGuard` answers unknown paths 404. It wraps the whole app BentoML builds (see
   `guard_service`): BentoML's metrics middleware sits outside every `add_asgi_middleware`
   middleware and labels its counters with the path, so a guard placed there would let each
   junk path add a Prometheus series. The paths it lets through are labelled by their route
   template (`serving.metrics_labels`), so a path parameter never becomes a series either.
2. `HostGuard`: only the configured Host names (a DNS-rebinding page cannot reach a local service).
   Then `DocsPageHeaders` (serving.docs_page_headers): a Content-Security-Policy on the open
   API docs page, which BentoML ships with a third-party tag manager script; and
   `PrivateAnswers` (serving.private_answers): no caching of a keyed route's answer.
3. `CorsGuard`: starlette's CORS, only when `AGORA_ALLOWED_ORIGINS` names origins.
4. `LoadShedder`: a per-worker in-flight limit; beyond it a 503 with `Retry-After` at once,
   instead of a queue that turns into timeouts.
5. `ApiKeyGuard`: 401 without a known key, 403 for a role the route does not admit; the
   principal goes into `scope["state"]["principal"]` for the handlers.
6. `BodyGuard`: 415 unless the body is `application/json` (a cross-site form cannot post)
   in UTF-8 and uncompressed (no `Content-Encoding` but `identity`);
   413 when `Content-Length` or the bytes streamed pass the route's limit; 408 when the body
   is slower than AGORA_BODY_TIMEOUT_S; 400 for a JSON object naming a field twice. The body
   is read into memory only up to the limit, then replayed to BentoML.

Every answer they give is `serving.errors.error_response`'s shape. Settings are read when the
middleware stack is built (worker start), never at import.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from bentoml import Service
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import ops_metrics
from serving.auth import CredentialError, Principal, check_start_keys, presented_keys
from serving.body_reading import (
    BodyRefusal,
    charset_refusal,
    encoding_refusal,
    read_limited,
    repeated_json_key,
    too_large,
)
from serving.docs_page_headers import DocsPageHeaders
from serving.errors import error_response
from serving.gateway_settings import body_timeout_s
from serving.metrics_labels import label_metrics_by_route
from serving.private_answers import PrivateAnswers
from serving.settings import (
    BATCH_PATHS,
    BODY_ONLY_PATHS,
    OPEN_PATHS,
    OPEN_PREFIXES,
    ROUTE_ROLES,
    UNSHED_PATHS,
    allowed_hosts,
    allowed_origins,
    body_limit,
    max_batches_in_flight,
    max_in_flight,
    roles_for,
    route_of,
)

logger = logging.getLogger(__name__)

INSECURE_PRINCIPAL = Principal(role="insecure-dev", name="insecure-dev")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MEDIA_TYPE = "application/json"
CORS_HEADERS = ("content-type", "x-api-key", "authorization", "idempotency-key")
CORS_EXPOSED_HEADERS = ("x-bentoml-request-id", "retry-after")
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def _reject(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    await error_response(status, message, code, headers)(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: BodyRefusal) -> None:
    await _reject(scope, receive, send, refusal.status, refusal.message, None, refusal.headers)


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def static_paths() -> frozenset[str]:
    """The exact paths of the API docs' static files (BentoML's Swagger UI assets)."""
    from bentoml._internal import server  # BentoML's package: the files it serves

    root = Path(server.__file__).parent / "static_content"
    return frozenset(
        "/static_content/" + path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file()
    )


def known_paths() -> frozenset[str]:
    """Every path the service answers: the routes with roles, the open ones, the docs' files."""
    return frozenset(ROUTE_ROLES) | OPEN_PATHS | static_paths()


class RouteGuard:
    """404 for any path the service does not serve, before metrics, auth or parsing see it."""

    def __init__(self, app: ASGIApp, paths: Iterable[str] | None = None) -> None:
        self.app = app
        self.paths = frozenset(paths) if paths is not None else known_paths()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path not in self.paths and route_of(path) is None:
            await _reject(scope, receive, send, 404, "no such route: see /docs.json for the API")
            return
        if scope["type"] == "websocket":  # the service has no websocket route
            await send({"type": "websocket.close", "code": 1008})
            return
        if path in BODY_ONLY_PATHS and scope.get("query_string"):
            query = scope["query_string"].decode("latin-1")
            names = sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)})
            shown = ", ".join(repr(name[:40]) for name in names[:5]) or "an empty one"
            await _reject(
                scope,
                receive,
                send,
                400,
                f"this route reads its input from the JSON body only; query parameter {shown} "
                "sent: move it into the body",
            )
            return
        await self.app(scope, receive, send)


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
            await _reject(
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


class LoadShedder:
    """503 + `Retry-After: 1` at once when this worker already serves `limit` requests.

    A client (or load balancer) retries elsewhere or later; queueing instead would turn a burst
    into timeouts for everyone. Health and metrics are never shed. Batch routes (`BATCH_PATHS`)
    have their own budget, `batch_limit`, and take none of the others': a flood of 300-text
    batches took every slot and feeds were shed or waited seconds behind them.
    """

    def __init__(self, app: ASGIApp, limit: int | None = None, batch_limit: int | None = None):
        self.app = app
        self.limit = limit if limit is not None else max_in_flight()
        self.batch_limit = batch_limit if batch_limit is not None else max_batches_in_flight()
        self.in_flight = 0  # one event loop per worker: no lock needed
        self.batches_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNSHED_PATHS:
            await self.app(scope, receive, send)
            return
        batch = scope["path"] in BATCH_PATHS
        busy, limit = (
            (self.batches_in_flight, self.batch_limit) if batch else (self.in_flight, self.limit)
        )
        if busy >= limit:
            ops_metrics.shed(route_of(scope["path"]) or scope["path"])
            what = "batch requests" if batch else "requests"
            await _reject(
                scope,
                receive,
                send,
                503,
                f"the service is at its limit of {limit} {what} in flight: retry shortly",
                code="overloaded",
                headers={"Retry-After": "1"},
            )
            return
        self._count(batch, +1)
        try:
            await self.app(scope, receive, send)
        finally:
            self._count(batch, -1)

    def _count(self, batch: bool, change: int) -> None:
        if batch:
            self.batches_in_flight += change
        else:
            self.in_flight += change


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
            await _reject(scope, receive, send, 404, "no such route: see /docs.json for the API")
            return
        headers = Headers(scope=scope)
        try:
            keys = presented_keys(headers.getlist("x-api-key"), headers.getlist("authorization"))
        except CredentialError as error:
            await _reject(scope, receive, send, 401, str(error), headers=BEARER_CHALLENGE)
            return
        if len(keys) > 1:
            # Which one would count is a guess (a gateway may have checked the other): neither.
            await _reject(
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
            await _reject(
                scope,
                receive,
                send,
                401,
                f"{path} needs an API key and the request has {what}: send it as X-API-Key "
                "or Authorization: Bearer",
                headers=BEARER_CHALLENGE,
            )
            return
        if principal.role not in roles:
            await _reject(
                scope,
                receive,
                send,
                403,
                f"key {principal.name!r} has role {principal.role!r}; {path} needs "
                f"{' or '.join(sorted(roles))}",
            )
            return
        state["principal"] = principal
        await self.app(scope, receive, send)


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON_MEDIA_TYPE


def _content_coding(headers: Headers) -> str | None:
    """The body's content coding when it is not `identity` (shortened for the message)."""
    codings = [c.strip().lower() for c in ",".join(headers.getlist("content-encoding")).split(",")]
    applied = [c for c in codings if c and c != "identity"]
    return ", ".join(applied)[:40] if applied else None


class BodyGuard:
    """415 for a body that is not UTF-8 JSON; 413 past the route's limit, read no further than
    that; 408 for a body that takes longer than `timeout_s` to arrive (serving.body_reading)."""

    def __init__(self, app: ASGIApp, timeout_s: float | None = None) -> None:
        self.app = app
        self.timeout_s = timeout_s if timeout_s is not None else body_timeout_s()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        headers = Headers(scope=scope)
        limit = body_limit(path)
        declared = headers.get("content-length")
        chunked = "transfer-encoding" in headers
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            await _reject(scope, receive, send, 400, "Content-Length is not a number")
            return
        has_body = chunked or bool(length)
        content_type = headers.get("content-type", "")
        if has_body and not _is_json(content_type):
            await _reject(scope, receive, send, 415, f"{path} takes {JSON_MEDIA_TYPE} bodies only")
            return
        if has_body and (refusal := charset_refusal(path, content_type)) is not None:
            await _refuse(scope, receive, send, refusal)
            return
        if has_body and (coding := _content_coding(headers)) is not None:
            # Nothing below decodes a body: a gzip body reached the JSON parser as bytes and
            # came back "Invalid JSON: expected value at line 1 column 1", a deflate header on
            # plain JSON was taken as plain JSON. RFC 7694: 415, naming the coding accepted.
            await _reject(
                scope,
                receive,
                send,
                415,
                f"{path} takes uncompressed bodies: send it without Content-Encoding "
                f"(this one is {coding!r})",
                headers={"Accept-Encoding": "identity"},
            )
            return
        if length is not None and length > limit:
            await _refuse(scope, receive, send, too_large(path, limit))
            return
        if not has_body:
            await self.app(scope, receive, send)
            return
        body = await read_limited(receive, path, limit, self.timeout_s)
        if body is None:  # the client went away
            return
        if isinstance(body, BodyRefusal):
            await _refuse(scope, receive, send, body)
            return
        if (refusal := encoding_refusal(path, body)) is not None:
            await _refuse(scope, receive, send, refusal)
            return
        if (duplicate := repeated_json_key(body)) is not None:
            await _reject(
                scope,
                receive,
                send,
                400,
                f"the JSON body names the field {duplicate!r} twice in one object: send each "
                "field once",
            )
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the already-read body once, then the client's own messages."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


# Inner guards in the order a request meets them (add_asgi_middleware: first added is outermost).
INNER_GUARDS: tuple[type, ...] = (
    HostGuard,
    DocsPageHeaders,
    PrivateAnswers,
    CorsGuard,
    LoadShedder,
    ApiKeyGuard,
    BodyGuard,
)


class _RouteGuardedService(Service):  # type: ignore[type-arg]
    """A BentoML service whose ASGI app sits behind `RouteGuard` (outside BentoML's metrics),
    with its metrics labelled by route template (`serving.metrics_labels`).

    BentoML's workers build the app with `Service.to_asgi`; wrapping its result is the one
    place a guard can run before BentoML's own middlewares. No new state: `__slots__` stays
    empty so an existing service object can take this class.
    """

    __slots__ = ()

    def to_asgi(self, is_main: bool = True) -> ASGIApp:
        app = super().to_asgi(is_main=is_main)
        label_metrics_by_route(app)
        return RouteGuard(app)


def guard_service(service: Service) -> None:  # type: ignore[type-arg]
    """Put every guard in front of `service`; ValueError if an API route has no roles.

    A route without an entry in `serving.settings.ROUTE_ROLES` would be answered 404 by
    `RouteGuard`: refusing here makes the omission loud at import instead of at the first call.
    """
    routes = sorted(api.route for api in service.apis.values())
    if missing := [route for route in routes if route not in ROUTE_ROLES]:
        raise ValueError(f"API routes without roles in serving.settings.ROUTE_ROLES: {missing}")
    for guard in INNER_GUARDS:
        service.add_asgi_middleware(guard)
    service.__class__ = _RouteGuardedService
