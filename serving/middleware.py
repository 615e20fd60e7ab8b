"""The guards every request passes before the service parses it: pure ASGI, cheapest first.
This module puts them in front of the service; each guard lives in its own module.

Order, outermost first:
1. `RouteGuard` (serving.route_guard) answers unknown paths 404. It wraps the whole app BentoML
   builds (see `guard_service`): BentoML's metrics middleware sits outside every
   `add_asgi_middleware` middleware and labels its counters with the path, so a guard placed
   there would let each junk path add a Prometheus series. The paths it lets through are
   labelled by their route template (`serving.metrics_labels`), so a path parameter never
   becomes a series either.
2. `HostGuard` (serving.origin_guards): only the configured Host names (a DNS-rebinding page
   cannot reach a local service).
   Then `DocsPageHeaders` (serving.docs_page_headers): a Content-Security-Policy on the open
   API docs page, which BentoML ships with a third-party tag manager script; and
   `PrivateAnswers` (serving.private_answers): no caching of a keyed route's answer.
3. `CorsGuard` (serving.origin_guards): starlette's CORS, only when `AGORA_ALLOWED_ORIGINS`
   names origins.
4. `LoadShedder` (serving.load_shedder): a per-worker in-flight limit; beyond it a 503 with
   `Retry-After` at once, instead of a queue that turns into timeouts.
5. `ApiKeyGuard` (serving.api_key_guard): 401 without a known key, 403 for a role the route
   does not admit; the principal goes into `scope["state"]["principal"]` for the handlers.
6. `BodyGuard` (serving.body_guard): 415 unless the body is `application/json` (a cross-site
   form cannot post) in UTF-8 and uncompressed (no `Content-Encoding` but `identity`);
   413 when `Content-Length` or the bytes streamed pass the route's limit; 408 when the body
   is slower than AGORA_BODY_TIMEOUT_S; 400 for a JSON object naming a field twice. The body
   is read into memory only up to the limit, then replayed to BentoML.

Every answer they give is `serving.errors.error_response`'s shape. Settings are read when the
middleware stack is built (worker start), never at import.
"""

from __future__ import annotations

from bentoml import Service
from starlette.types import ASGIApp

from serving.api_key_guard import ApiKeyGuard
from serving.body_guard import BodyGuard
from serving.docs_page_headers import DocsPageHeaders
from serving.load_shedder import LoadShedder
from serving.metrics_labels import label_metrics_by_route
from serving.origin_guards import CorsGuard, HostGuard
from serving.private_answers import PrivateAnswers
from serving.route_guard import RouteGuard
from serving.settings import ROUTE_ROLES

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
