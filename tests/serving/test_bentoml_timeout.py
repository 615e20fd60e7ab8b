"""serving.bentoml_timeout: the request timeout keeps BentoML's behaviour, not its leaked timers."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from bentoml._internal.server.http import traffic

from serving.bentoml_timeout import CancellingTimeoutMiddleware, install

SCOPE = {"type": "http", "method": "POST", "path": "/recommend", "headers": []}


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _call(app: Any, timeout: float) -> tuple[list[dict[str, Any]], list[asyncio.TimerHandle]]:
    """Run one request; returns what was sent and the timers the middleware armed."""
    loop = asyncio.get_running_loop()
    armed: list[asyncio.TimerHandle] = []
    call_later = loop.call_later

    def recording_call_later(delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        handle = call_later(delay, callback, *args)
        armed.append(handle)
        return handle

    loop.call_later = recording_call_later  # type: ignore[method-assign]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        await CancellingTimeoutMiddleware(app, timeout)(SCOPE, receive, send)
    finally:
        loop.call_later = call_later  # type: ignore[method-assign]
    return sent, armed


def test_a_finished_request_cancels_its_timer() -> None:
    # Regression: BentoML's TimeoutMiddleware left a 60 s timer per request holding its context.
    sent, armed = asyncio.run(_call(_ok, timeout=60))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert len(armed) == 1 and armed[0].cancelled()


def test_a_request_without_an_answer_in_time_gets_504_and_its_handler_is_cancelled() -> None:
    cancelled = []

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    sent, _ = asyncio.run(_call(slow, timeout=0.05))
    assert sent[0]["status"] == 504 and cancelled == [True]
    # Regression: the 504 body was BentoML's {"error": "..."}, not the service's error shape.
    assert json.loads(sent[1]["body"]) == {
        "error": {
            "status": 504,
            "code": "unavailable",
            "message": "the service did not answer within 0.05 seconds",
        }
    }


def test_a_handler_failing_before_answering_raises_at_once() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("bug")

    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="bug"):
        asyncio.run(_call(broken, timeout=30))
    assert time.perf_counter() - started < 5


def test_install_replaces_the_class_bentoml_builds_its_stack_with() -> None:
    original = traffic.TimeoutMiddleware
    try:
        install()
        assert traffic.TimeoutMiddleware is CancellingTimeoutMiddleware
    finally:
        traffic.TimeoutMiddleware = original  # type: ignore[misc]
