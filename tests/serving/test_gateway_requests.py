"""The service behind an API gateway: what it does with the charsets, slow bodies, retries and
forwarding headers a gateway and its clients send.

The guard and settings tests run in-process on tiny apps; the rest call the real service over
HTTP as a gateway would (raw sockets where a client library would not send the bytes).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message

from serving import gateway_settings
from serving.body_guard import BodyGuard
from serving.body_reading import declared_charset
from serving.schemas.idempotency import idempotency_key_of, one_idempotency_header
from tests.serving.conftest import API_KEYS, ServiceProcess, service_env

TEXT = {"text": "Le vol était très en retard"}


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse(json.loads(await request.body()))


def _client(timeout_s: float = 5.0) -> TestClient:
    return TestClient(
        BodyGuard(Starlette(routes=[Route("/triage", _echo, methods=["POST"])]), timeout_s)
    )


def _post(client: TestClient, body: bytes, content_type: str) -> Any:
    return client.post("/triage", content=body, headers={"content-type": content_type})


# -- charsets (in-process) ----------------------------------------------------------------------


def test_a_body_declared_in_another_charset_is_a_415_naming_utf8() -> None:
    """Regression (gateway trial): `charset=iso-8859-1` was parsed as UTF-8 and answered 400
    "Invalid JSON: invalid unicode code point at line 1 column 17"."""
    client = _client()
    latin1 = json.dumps(TEXT, ensure_ascii=False).encode("latin-1")
    for charset in ("iso-8859-1", '"windows-1252"', "UTF-16"):
        refused = _post(client, latin1, f"application/json; charset={charset}")
        assert refused.status_code == 415, charset
        error = refused.json()["error"]
        assert error["code"] == "unsupported_media_type"
        assert "UTF-8" in error["message"] and charset.strip('"').lower() in error["message"]
    utf8 = json.dumps(TEXT, ensure_ascii=False).encode()
    for content_type in ("application/json; charset=UTF-8", 'application/json;charset="utf-8"'):
        assert _post(client, utf8, content_type).json() == TEXT


def test_wide_unicode_bodies_are_a_415_and_a_utf8_bom_is_dropped() -> None:
    client = _client()
    text = json.dumps(TEXT, ensure_ascii=False)
    for encoding, named in [
        ("utf-16", "UTF-16LE"),  # with its byte-order mark
        ("utf-16-be", "UTF-16BE"),  # without: told by its NUL bytes
        ("utf-32-le", "UTF-32LE"),
    ]:
        refused = _post(client, text.encode(encoding), "application/json")
        assert refused.status_code == 415, encoding
        assert named in refused.json()["error"]["message"]
    assert _post(client, b"\xef\xbb\xbf" + text.encode(), "application/json").json() == TEXT


def test_a_body_that_is_not_utf8_is_a_400_naming_the_byte() -> None:
    body = json.dumps(TEXT, ensure_ascii=False).encode("latin-1")
    refused = _post(_client(), body, "application/json")
    assert refused.status_code == 400
    first_bad = body.index(b"\xe9")
    assert f"not valid UTF-8 (byte {first_bad} is 0xe9)" in refused.json()["error"]["message"]


def test_declared_charset_reads_the_parameter_only() -> None:
    assert declared_charset("application/json") is None
    assert declared_charset('application/json; Charset = "UTF-8" ') == "utf-8"
    assert declared_charset("application/json; boundary=x; charset=latin1") == "latin1"


# -- slow bodies (in-process) -------------------------------------------------------------------


def test_a_body_slower_than_the_timeout_is_a_408_without_reaching_the_app() -> None:
    """Regression (gateway trial): a body sent a byte a second held its slot for 60 s and was
    answered a 504 "the service did not answer within 60 seconds"."""
    reached: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    sent: list[Message] = []
    # Seven pieces 0.3 s apart: 2.1 s without the guard, so the bound below leaves a busy machine
    # a second of slack and still fails when the guard waits for the whole body.
    body = b'{"text": "hi"}'
    parts = [body[i : i + 4] for i in range(0, len(body), 4)] + [b""] * 3

    async def receive() -> Message:
        await asyncio.sleep(0.3)  # a client trickling its body
        chunk = parts.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(parts)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/triage",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"14")],
    }
    started = time.monotonic()
    asyncio.run(BodyGuard(app, timeout_s=0.4)(scope, receive, send))
    assert time.monotonic() - started < 1.5
    assert not reached
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    error = json.loads(sent[1]["body"])["error"]
    assert (
        error["code"] == "request_timeout"
        and "within 0.4 seconds (4 bytes came)" in error["message"]
    )


# -- settings (unit) ----------------------------------------------------------------------------


def test_trusted_proxies_are_none_by_default_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(gateway_settings.TRUSTED_PROXIES_ENV, raising=False)
    monkeypatch.setenv(gateway_settings.UVICORN_FORWARDED_ENV, "127.0.0.1")  # uvicorn's default
    gateway_settings.install_trusted_proxies()
    assert os.environ[gateway_settings.UVICORN_FORWARDED_ENV] == ""
    setting = {gateway_settings.TRUSTED_PROXIES_ENV: " 10.0.0.5, 10.1.0.0/16 ,::1"}
    assert gateway_settings.trusted_proxies(setting) == ["10.0.0.5", "10.1.0.0/16", "::1"]
    with pytest.raises(ValueError, match=r"'gateway\.local' is not an IP address or network"):
        gateway_settings.trusted_proxies({gateway_settings.TRUSTED_PROXIES_ENV: "gateway.local"})


def test_body_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    name = gateway_settings.BODY_TIMEOUT_ENV
    assert gateway_settings.body_timeout_s({}) == gateway_settings.DEFAULT_BODY_TIMEOUT_S
    assert gateway_settings.body_timeout_s({name: "2.5"}) == 2.5
    for bad in ("0", "-1", "inf", "soon"):
        with pytest.raises(ValueError, match=name):
            gateway_settings.body_timeout_s({name: bad})


def test_the_idempotency_header_fills_each_routes_own_id() -> None:
    assert idempotency_key_of(None, "c-1", "correction_id") == "c-1"
    assert idempotency_key_of("r-1", "gateway-stamped", "resolution_id") == "r-1"
    for in_body in (None, "c-1"):  # a malformed header is refused even where the body wins
        with pytest.raises(ValueError, match="Idempotency-Key header"):
            idempotency_key_of(in_body, "x" * 65, "correction_id")  # 64 characters at most


def test_two_different_idempotency_headers_are_refused() -> None:
    """Regression: `Idempotency-Key: a` and `Idempotency-Key: b` on one /triage were accepted,
    reading the first only: a retry carrying the other stored the message twice."""
    with pytest.raises(ValueError, match="2 different Idempotency-Key headers"):
        one_idempotency_header(["key-a", "key-b"])
    assert one_idempotency_header(["key-a", "key-a"]) == "key-a"
    assert one_idempotency_header([]) is None


# -- the real service ---------------------------------------------------------------------------


def _raw(service: ServiceProcess, head: bytes, body: bytes = b"", wait: float = 10) -> bytes:
    """Send `head` and `body` on a socket as they are; the answer's bytes."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=wait) as connection:
        connection.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := connection.recv(65536)):
            answer += chunk
        return answer


@pytest.mark.integration
def test_charsets_over_http(service: ServiceProcess) -> None:
    body = json.dumps(TEXT, ensure_ascii=False).encode("latin-1")
    status, answer, _ = service.request(
        "POST", "/triage", body, headers={"content-type": "application/json; charset=iso-8859-1"}
    )
    assert status == 415 and "UTF-8" in answer["error"]["message"]
    status, answer, _ = service.request("POST", "/triage", json.dumps(TEXT).encode("utf-16"))
    assert status == 415 and "UTF-16LE" in answer["error"]["message"]
    status, answer, _ = service.request(
        "POST", "/triage", b"\xef\xbb\xbf" + json.dumps(TEXT).encode()
    )
    assert status == 200 and answer["result"]["language"]["code"] == "fr"


@pytest.mark.integration
def test_a_retried_correction_with_an_idempotency_key_is_stored_once(
    service: ServiceProcess,
) -> None:
    """Regression (gateway trial): `Idempotency-Key` on /corrections was ignored, so a gateway's
    retry stored a second correction under a new correction_id."""
    triage = {
        "text": "My bag was lost and nobody answers.",
        "customer_id": f"gw-{uuid.uuid4().hex[:8]}",
    }
    status, recorded = service.post("/triage", triage)
    assert status == 200
    key = f"gw-{uuid.uuid4().hex}"
    correction = json.dumps(
        {"triage_id": recorded["triage_id"], "field": "sentiment", "correct_label": "negative"}
    ).encode()
    answers = [
        service.request("POST", "/corrections", correction, headers={"idempotency-key": key})
        for _ in range(2)
    ]
    assert [(status, answer["stored"]) for status, answer, _ in answers] == [
        (200, True),
        (200, False),
    ]
    assert {answer["correction_id"] for _, answer, _ in answers} == {key}
    other = json.dumps(
        {"triage_id": recorded["triage_id"], "field": "sentiment", "correct_label": "positive"}
    ).encode()
    status, answer, _ = service.request(
        "POST", "/corrections", other, headers={"idempotency-key": key}
    )
    assert status == 409 and answer["error"]["code"] == "conflict"


@pytest.mark.integration
def test_a_gateway_stamped_key_on_an_unrecorded_triage_is_unused(service: ServiceProcess) -> None:
    """Regression (gateway trial): an Idempotency-Key header on a /triage without customer_id
    (which stores nothing) was a 400 "an idempotency key needs a customer_id"."""
    body = json.dumps({"text": "The seat was broken."}).encode()
    status, answer, _ = service.request(
        "POST", "/triage", body, headers={"idempotency-key": f"gw-{uuid.uuid4().hex}"}
    )
    assert status == 200 and answer["triage_id"] is None
    status, answer, _ = service.request(
        "POST", "/triage", body, headers={"idempotency-key": " padded "}
    )
    assert status == 400 and "Idempotency-Key header" in answer["error"]["message"]


@pytest.mark.integration
def test_the_docs_declare_the_idempotency_key_header(service: ServiceProcess) -> None:
    status, document = service.get("/docs.json", role=None)
    assert status == 200
    for path in ("/triage", "/corrections", "/resolutions"):
        operation = document["paths"][path]["post"]
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"], path
        assert headers[0]["schema"]["type"] == "string"
        assert "408" in operation["responses"]


@pytest.fixture(scope="module")
def slow_body_service(champions_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A service with a 1 s body timeout and no AGORA_TRUSTED_PROXIES (the default)."""
    folder = tmp_path_factory.mktemp("gateway")
    env = service_env(
        champions_home,
        AGORA_STORE_URL=f"sqlite:///{folder / 'events.db'}",
        AGORA_BODY_TIMEOUT_S="1",
    )
    env.pop("AGORA_TRUSTED_PROXIES", None)
    server = ServiceProcess(env, log_path=folder / "service.log").start()
    yield server
    server.stop()


@pytest.mark.integration
def test_a_trickled_body_is_a_408_and_others_are_served(slow_body_service: ServiceProcess) -> None:
    service = slow_body_service
    head = (
        f"POST /recommend HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEYS['read']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = _raw(service, head, b'{"user_id": ')  # and then nothing more
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 5
    assert service.post("/recommend", {"user_id": "196", "k": 2})[0] == 200


@pytest.mark.integration
def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(
    slow_body_service: ServiceProcess,
) -> None:
    """Regression (gateway trial): uvicorn believed X-Forwarded-For from 127.0.0.1, so any local
    client wrote the address in the access log (`6.6.6.6:0`)."""
    service = slow_body_service
    _, _, headers = service.request(
        "POST",
        "/recommend",
        json.dumps({"user_id": "196", "k": 2}).encode(),
        headers={"x-forwarded-for": "203.0.113.77"},
    )
    span = headers["x-bentoml-request-id"]
    deadline = time.monotonic() + 10
    while (
        f"span={span}" not in (log := service.log_tail(2_000_000)) and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    line = next(
        line for line in log.splitlines() if f"span={span}" in line and "path=/recommend" in line
    )
    assert "127.0.0.1:" in line and "203.0.113.77" not in line
