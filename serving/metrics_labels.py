"""BentoML's traffic metrics, labelled by route template instead of the request's raw path.

BentoML 1.4's traffic metrics middleware (`RunnerTrafficMetricsMiddleware` for a `@bentoml.service`,
`HTTPTrafficMetricsMiddleware` for the older API) sets its `endpoint` label to `scope["path"]`.
For a route with a path parameter (`/users/{user_id}/profile`) every distinct id then adds its
own series, about twenty lines of `/metrics` each (a counter per status, a histogram, a gauge):
unbounded cardinality, and the customer's id on an endpoint that is open for scraping. A 401
answered without a key counts too, so anyone could grow it.

`label_metrics_by_route` wraps that middleware in the app BentoML builds: the metrics middleware
sees the route template as the path, and the app inside it (the guards, the handlers) gets the
request's own path back. Nothing else the request meets changes: only the label does.
Unknown paths never reach the metrics (see `serving.route_guard.RouteGuard`).
"""

from __future__ import annotations

from bentoml._internal.configuration.containers import BentoMLContainer
from bentoml._internal.server.http.instruments import (
    HTTPTrafficMetricsMiddleware,
    RunnerTrafficMetricsMiddleware,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.settings import route_of

METRICS_MIDDLEWARES: tuple[type, ...] = (
    RunnerTrafficMetricsMiddleware,
    HTTPTrafficMetricsMiddleware,
)
# Where the request's own path waits, in the scope, while the metrics middleware reads the template.
REQUEST_PATH_KEY = "agora.request_path"


class RouteLabelledMetrics:
    """Runs `metrics_class` (BentoML's traffic metrics) with the route template as the path."""

    def __init__(self, app: ASGIApp, metrics_class: type, *args: object, **options: object) -> None:
        self.app = app
        self.metrics: ASGIApp = metrics_class(self._request_path_back, *args, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        route = route_of(path) if scope["type"] in ("http", "websocket") else None
        if route is not None and route != path:
            scope[REQUEST_PATH_KEY] = path
            scope["path"] = route  # read once, when the metrics middleware starts the request
        await self.metrics(scope, receive, send)

    async def _request_path_back(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (path := scope.pop(REQUEST_PATH_KEY, None)) is not None:
            scope["path"] = path
        await self.app(scope, receive, send)


def label_metrics_by_route(app: ASGIApp, metrics_enabled: bool | None = None) -> int:
    """Wrap the traffic metrics middleware(s) of `app` (a Starlette app BentoML built, before it
    served anything) in `RouteLabelledMetrics`; returns how many were wrapped.

    TypeError if `app` is not such an app, or if metrics are on (`metrics_enabled`; None: BentoML's
    configuration) and no metrics middleware was found: a BentoML upgrade that builds the app
    otherwise must fail loudly at start-up rather than leak path parameters into `/metrics` again.
    """
    if not isinstance(app, Starlette) or app.middleware_stack is not None:
        raise TypeError(
            f"cannot relabel BentoML's metrics: {type(app).__name__} is not an unstarted "
            "Starlette app (did BentoML change how it builds the service app?)"
        )
    wrapped = 0
    for position, middleware in enumerate(app.user_middleware):
        if middleware.cls in METRICS_MIDDLEWARES:
            app.user_middleware[position] = Middleware(
                RouteLabelledMetrics, middleware.cls, *middleware.args, **middleware.kwargs
            )
            wrapped += 1
    if metrics_enabled is None:
        metrics_enabled = bool(BentoMLContainer.api_server_config.metrics.enabled.get())
    if metrics_enabled and not wrapped:
        raise TypeError(
            "cannot relabel BentoML's metrics: no traffic metrics middleware in the service app "
            f"(looked for {', '.join(cls.__name__ for cls in METRICS_MIDDLEWARES)})"
        )
    return wrapped
