"""Unit tests of the one error shape and of credential masking (no server)."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from serving.errors import CODES, ErrorShapeMiddleware, error_body
from serving.model_info import mask_credentials


def test_error_body_has_status_code_and_message() -> None:
    assert error_body(413, "too big") == {
        "error": {"status": 413, "code": "payload_too_large", "message": "too big"}
    }
    assert error_body(503, "busy", code="overloaded")["error"]["code"] == "overloaded"
    assert error_body(418, "odd")["error"]["code"] == "bad_request"


# BentoML's and Starlette's own error bodies, as they answer them.
FOREIGN_BODIES = [
    (
        400,
        JSONResponse(
            {
                "error": "1 validation error for RecommendRequest",
                "detail": [{"loc": ["k"], "msg": "Input should be greater than or equal to 1"}],
            },
            status_code=400,
        ),
        "k: Input should be greater than or equal to 1",
    ),
    (409, JSONResponse([{"error": "event e1 differs"}], status_code=409), "event e1 differs"),
    (500, JSONResponse({"error": "An unexpected error"}, status_code=500), "An unexpected error"),
    (405, PlainTextResponse("Method Not Allowed", status_code=405), "Method Not Allowed"),
    (404, JSONResponse({"detail": "Not Found"}, status_code=404), "Not Found"),
    (503, Response(b"", status_code=503), "Service Unavailable"),
]


@pytest.mark.parametrize(("status", "response", "message"), FOREIGN_BODIES)
def test_foreign_error_bodies_are_rewritten_into_the_shape(
    status: int, response: Response, message: str
) -> None:
    async def endpoint(_: object) -> Response:
        return response

    app = ErrorShapeMiddleware(Starlette(routes=[Route("/", endpoint)]))
    answer = TestClient(app).get("/")
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["status"] == status and error["code"] in CODES
    assert error["message"] == message
    assert int(answer.headers["content-length"]) == len(answer.content)


def test_success_and_shaped_bodies_pass_untouched() -> None:
    shaped = error_body(409, "conflict", code="conflict")

    async def ok(_: object) -> Response:
        return JSONResponse({"items": []})

    async def refused(_: object) -> Response:
        return JSONResponse(shaped, status_code=409)

    app = ErrorShapeMiddleware(Starlette(routes=[Route("/ok", ok), Route("/no", refused)]))
    client = TestClient(app)
    assert client.get("/ok").json() == {"items": []}
    assert json.loads(client.get("/no").content) == shaped


def test_an_unexpected_error_is_one_shaped_500_and_not_raised_to_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(_: object) -> Response:
        raise OverflowError("timestamp out of range")

    async def raw(scope: object, receive: object, send: object) -> None:  # no Starlette around
        raise RuntimeError("bare failure")

    # Starlette answers 500 and re-raises; a bare ASGI app just raises. Neither reaches the
    # server (TestClient re-raises what reaches it), and each is logged once.
    for app, path in ((Starlette(routes=[Route("/", broken)]), "/"), (raw, "/raw")):
        answer = TestClient(ErrorShapeMiddleware(app)).get(path)  # type: ignore[arg-type]
        assert answer.status_code == 500
        assert answer.json()["error"]["code"] == "internal"
        assert "out of range" not in answer.text and "bare failure" not in answer.text
    assert caplog.text.count("unhandled error answering GET") == 2


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://user:secret@db:5432/agora", "postgresql://user:***@db:5432/agora"),
        ("https://user:tok@mlflow.example/x", "https://user:***@mlflow.example/x"),
        ("https://ghp_token@github.com/a", "https://***@github.com/a"),
        ("registry http://127.0.0.1:9 failed", "registry http://127.0.0.1:9 failed"),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
    ],
)
def test_credentials_in_uris_are_masked(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked
