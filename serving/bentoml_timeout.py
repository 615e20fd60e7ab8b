"""BentoML's request timeout, without keeping every request alive for the whole timeout.

BentoML 1.4's `TimeoutMiddleware` arms `loop.call_later(timeout, ...)` for each request and
never cancels it. The timer holds the request's waiter future and a copy of its context (the
tracing span with its attributes), so at 300 requests/s per worker and the 60 s timeout about a
million such objects stay alive. Python's full garbage collections walk all of them, and the
pauses grew past 100 ms under load: they were the tail of the feed latency.

This module replaces that class, before the service builds its middleware stack, with one that
behaves the same (504 after `timeout` seconds if nothing was sent, the handler's task
cancelled) and cancels its timer as soon as the request is done; a handler that fails before
sending anything has its error raised at once, not after the timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bentoml._internal.server.http import traffic
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import error_response


class CancellingTimeoutMiddleware:
    """504 when no response started within `timeout` seconds; the timer dies with the request."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(self.timeout, _time_out, started)

        async def send_and_mark(message: Message) -> None:
            if not started.done():
                started.set_result(None)
            await send(message)

        handler = asyncio.ensure_future(self.app(scope, receive, send_and_mark))
        # A handler that ends without sending (it raised) must not wait out the timeout.
        handler.add_done_callback(lambda _: started.done() or started.set_result(None))
        try:
            await started
        except TimeoutError:
            if handler.cancel():
                # In the service's one error shape: this middleware sits outside the one that
                # reshapes errors, and BentoML's `{"error": "..."}` reached clients as it was.
                answer = error_response(
                    504, f"the service did not answer within {self.timeout:g} seconds"
                )
                await answer(scope, receive, send)
        else:
            await handler
        finally:
            timer.cancel()


def _time_out(started: asyncio.Future[Any]) -> None:
    if not started.done():
        started.set_exception(TimeoutError())


def install() -> None:
    """Make BentoML build its stack with CancellingTimeoutMiddleware (idempotent).

    BentoML imports the class from `bentoml._internal.server.http.traffic` when it assembles the
    middleware list in each worker, so replacing the module attribute before that is enough.
    """
    traffic.TimeoutMiddleware = CancellingTimeoutMiddleware  # type: ignore[misc, assignment]
