"""Security headers for BentoML's API docs page (`GET /`, Swagger UI), which is open and served
on the same origin as the support desk.

BentoML's page loads Google Tag Manager (`googletagmanager.com/gtm.js`, an inline loader): a
third-party script running on the service's origin, where the desk keeps an agent's key in the
tab's session storage and where every route is one same-origin call away. It also sent each
visit to a tracker and could be framed by any site. The policy here allows only the service's own
scripts (Swagger UI's bundle is served from `/static_content/`), so the tag never loads, and
forbids framing. Inline styles stay allowed: Swagger UI and the page's banner use them.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PAGE_PATHS: Final = frozenset({"/"})
DOCS_PAGE_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class DocsPageHeaders:
    """Add DOCS_PAGE_HEADERS to the answers of DOCS_PAGE_PATHS (replacing any of the same name)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in DOCS_PAGE_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in DOCS_PAGE_PATHS:
            await self.app(scope, receive, send)
            return
        names = {name for name, _ in self.headers}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, with_headers)
