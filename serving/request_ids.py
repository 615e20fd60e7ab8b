"""Every answer carries the request id the service logs, whoever gives the answer.

BentoML names each request by its OpenTelemetry span (`X-BentoML-Request-ID`, and `span=` in
the log lines of that request), but only its own API handlers add the header. The guards'
answers (401, 403, 413, 415, a 503 `overloaded`) and the routes FastAPI serves (`/desk/queue`,
`/model_info`, ...) went without it, so a client team filing a ticket about a refused request
had nothing to quote. This middleware sits inside BentoML's tracing middleware, where the span
is current, and adds the header to any answer that lacks it.

A path the service does not serve is answered before tracing starts (`RouteGuard`, so junk
paths cost no metrics series) and has no id.
"""

from __future__ import annotations

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-bentoml-request-id"
# BentoML's default `logging.formatting.span_id`: the log's `span=` shows the same digits.
SPAN_ID_FORMAT = "016x"


def current_request_id() -> str | None:
    """The id of the request being served (its span's), or None outside a traced request."""
    context = trace.get_current_span().get_span_context()
    return format(context.span_id, SPAN_ID_FORMAT) if context.is_valid else None


class RequestIdHeader:
    """Add `X-BentoML-Request-ID` to every HTTP answer that does not carry it yet."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = current_request_id()
        if request_id is None:
            await self.app(scope, receive, send)
            return

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if all(name.lower() != REQUEST_ID_HEADER for name, _ in headers):
                    headers.append((REQUEST_ID_HEADER, request_id.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_id)
