"""Answers of keyed routes are not kept by browsers or proxies; open routes are left alone."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from serving.api_key_guard import ApiKeyGuard
from serving.private_answers import PrivateAnswers

KEY = "anKEY0123456789abcdef"


async def _answer(request: Request) -> JSONResponse:
    return JSONResponse({"cases": []}, headers={"cache-control": "max-age=600"})


def test_keyed_answers_and_refusals_say_no_store_and_open_ones_do_not(monkeypatch: Any) -> None:
    """Regression: /desk/queue answered customer messages with no caching header at all."""
    monkeypatch.setenv("AGORA_API_KEYS", f"agent:ana:{KEY}")
    routes = [Route("/desk/queue", _answer), Route("/healthz", _answer)]
    client = TestClient(PrivateAnswers(ApiKeyGuard(Starlette(routes=routes))))
    for answer in (
        client.get("/desk/queue", headers={"X-API-Key": KEY}),
        client.get("/desk/queue"),  # the 401
    ):
        assert answer.headers.get_list("cache-control") == ["no-store"], answer.headers
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert client.get("/healthz").headers["cache-control"] == "max-age=600"
