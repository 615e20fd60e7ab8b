"""The outermost guard: a path the service does not serve is answered 404 before anything else.

It wraps the whole app BentoML builds (see `serving.middleware.guard_service`), outside BentoML's
metrics middleware, so a junk path never adds a Prometheus series.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from serving.errors import reject
from serving.settings import BODY_ONLY_PATHS, OPEN_PATHS, ROUTE_ROLES, route_of


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
            await reject(scope, receive, send, 404, "no such route: see /docs.json for the API")
            return
        if scope["type"] == "websocket":  # the service has no websocket route
            await send({"type": "websocket.close", "code": 1008})
            return
        if path in BODY_ONLY_PATHS and scope.get("query_string"):
            query = scope["query_string"].decode("latin-1")
            names = sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)})
            shown = ", ".join(repr(name[:40]) for name in names[:5]) or "an empty one"
            await reject(
                scope,
                receive,
                send,
                400,
                f"this route reads its input from the JSON body only; query parameter {shown} "
                "sent: move it into the body",
            )
            return
        await self.app(scope, receive, send)
