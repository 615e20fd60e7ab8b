"""`Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on the keyed routes' answers.

Those answers hold what a key may read: customer messages and their labels (`/desk/queue`),
profiles, analytics. They came with no caching header, so a browser (the desk page's, on an
agents' shared workstation) or a proxy was free to keep them on disk after the agent signed
out. The open routes (health, metrics, the docs, the desk's static shell) are left as they are.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.settings import roles_for

PRIVATE_HEADERS: Final = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


class PrivateAnswers:
    """Add PRIVATE_HEADERS to every answer of a route that needs a key, refusals included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or roles_for(scope["path"]) is None:
            await self.app(scope, receive, send)
            return
        names = {name for name, _ in PRIVATE_HEADERS}

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *PRIVATE_HEADERS]}
            await send(message)

        await self.app(scope, receive, private)
