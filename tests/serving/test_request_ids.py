"""Every answer names its request, so a client can quote it in a support ticket."""

from __future__ import annotations

import re
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from serving.api_key_guard import ApiKeyGuard
from serving.request_ids import RequestIdHeader


async def _answer(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def _answer_with_id(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True}, headers={"X-BentoML-Request-ID": "from-the-handler"})


def _traced(app: Any) -> TestClient:
    # As BentoML stacks them: its tracing outside, the request id inside it, the guards inside.
    return TestClient(
        OpenTelemetryMiddleware(RequestIdHeader(app), tracer_provider=TracerProvider())
    )


def test_a_guards_refusal_carries_the_request_id(monkeypatch: Any) -> None:
    """Regression (a client trial): a 401, 403, 413, 415 or a shed 503 came without the
    X-BentoML-Request-ID that BentoML's own handlers send, so a ticket had no id to quote."""
    monkeypatch.setenv("AGORA_API_KEYS", "read:rd:rdKEY0123456789abcdef")
    app = ApiKeyGuard(Starlette(routes=[Route("/recommend", _answer, methods=["POST"])]))
    client = _traced(app)
    refused = client.post("/recommend", json={})
    assert refused.status_code == 401
    assert re.fullmatch(r"[0-9a-f]{16}", refused.headers["x-bentoml-request-id"])
    served = client.post("/recommend", json={}, headers={"X-API-Key": "rdKEY0123456789abcdef"})
    assert served.status_code == 200
    assert served.headers["x-bentoml-request-id"] != refused.headers["x-bentoml-request-id"]


def test_an_id_the_handler_set_is_kept_once() -> None:
    client = _traced(Starlette(routes=[Route("/similar_items", _answer_with_id, methods=["POST"])]))
    answer = client.post("/similar_items", json={})
    assert answer.headers.get_list("x-bentoml-request-id") == ["from-the-handler"]


def test_outside_a_traced_request_no_id_is_made_up() -> None:
    client = TestClient(RequestIdHeader(Starlette(routes=[Route("/x", _answer)])))
    assert "x-bentoml-request-id" not in client.get("/x").headers
