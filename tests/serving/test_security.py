"""Secure by default, bounded before parsing: keys and roles, media type, body limits, unknown
routes, load shedding, and the refusal to start without keys.

The key-parsing and guard tests run on tiny in-process apps; the rest run against the real
service over HTTP (the session's shared server where they do not restart it).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cli.launcher import ServiceStartError
from serving.auth import ApiKeyConfigError, key_name, key_ring_from_env, parse_api_keys
from serving.body_guard import BodyGuard
from serving.load_shedder import LoadShedder
from serving.origin_guards import CorsGuard, HostGuard
from serving.route_guard import RouteGuard
from serving.settings import body_limit, service_workers
from tests.serving.conftest import API_KEYS, ServiceProcess, load_bench_module, service_env

SECRET = "s3cret-value-0123456789"


# -- key parsing (unit) -------------------------------------------------------------------------


def test_keys_parse_with_and_without_names() -> None:
    ring = parse_api_keys(f"read:dashboard:{SECRET}, admin:{SECRET}-admin")
    principals = ring.principals
    assert [p.role for p in principals] == ["read", "admin"]
    assert principals[0].name == "dashboard"
    assert principals[1].name == key_name("admin", f"{SECRET}-admin")
    assert principals[1].name.startswith("admin-") and len(principals[1].name) == 14
    assert ring.identify(SECRET) == principals[0]
    assert ring.identify(SECRET + "x") is None


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        (f"reader:{SECRET}", "unknown role 'reader'"),
        (f"read:a:b:{SECRET}", "is not role:name:key"),
        (SECRET, "is not role:name:key"),
        ("read:short", "shorter than 16"),
        (f"read:one:{SECRET},read:one:{SECRET}-2", "repeats the name"),
        (f"read:one:{SECRET},admin:two:{SECRET}", "reuses a key"),
        (",,", "holds no key"),
    ],
)
def test_bad_key_entries_are_named_without_echoing_the_key(setting: str, fragment: str) -> None:
    with pytest.raises(ApiKeyConfigError) as raised:
        parse_api_keys(setting)
    message = str(raised.value)
    assert fragment in message
    assert SECRET not in message and "short" not in message.replace("shorter", "")


def test_start_without_keys_is_refused_unless_insecure_dev() -> None:
    with pytest.raises(ApiKeyConfigError, match="refuses to start without API keys"):
        key_ring_from_env({})
    # Regression: the old single AGORA_API_KEY must not silently keep working or open the service.
    with pytest.raises(ApiKeyConfigError, match="set AGORA_API_KEYS"):
        key_ring_from_env({"AGORA_API_KEY": SECRET})
    assert key_ring_from_env({"AGORA_INSECURE_DEV": "1"}) is None
    assert key_ring_from_env({"AGORA_API_KEYS": f"read:{SECRET}"}) is not None


def test_workers_default_to_the_cores_and_can_be_set() -> None:
    assert service_workers({}) >= 1
    assert service_workers({"AGORA_WORKERS": "3"}) == 3
    with pytest.raises(ValueError, match="AGORA_WORKERS"):
        service_workers({"AGORA_WORKERS": "0"})


# -- the guards on a tiny app (unit) ------------------------------------------------------------


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def _guarded(limit_in_flight: int = 8) -> tuple[TestClient, LoadShedder]:
    routes = [Route(path, _echo, methods=["POST"]) for path in ("/triage", "/triage_batch")]
    app: Any = BodyGuard(Starlette(routes=routes))
    shedder = LoadShedder(app, limit=limit_in_flight, batch_limit=2)
    paths = {"/triage", "/triage_batch", "/healthz"}
    guarded = RouteGuard(HostGuard(shedder, hosts=["testserver"]), paths=paths)
    return TestClient(guarded), shedder


def test_body_guard_checks_media_type_and_size_before_the_app_reads() -> None:
    client, _ = _guarded()
    limit = body_limit("/triage")
    assert client.post("/triage", json={"text": "hi"}).status_code == 200
    text = client.post("/triage", content=b"text=hi", headers={"content-type": "text/plain"})
    assert text.status_code == 415 and text.json()["error"]["code"] == "unsupported_media_type"
    declared = client.post("/triage", content=b"x" * (limit + 1), headers=_json())
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

    def stream() -> Any:  # no Content-Length: chunked transfer
        for _ in range(limit // 1024 + 2):
            yield b"x" * 1024

    chunked = client.post("/triage", content=stream(), headers=_json())
    assert chunked.status_code == 413


def test_a_compressed_body_is_a_415_naming_its_coding() -> None:
    """Regression (a client trial): a gzip body answered 400 "Invalid JSON: expected value at
    line 1 column 1", and `Content-Encoding: deflate` on plain JSON was read as plain JSON."""
    client, _ = _guarded()
    body = gzip.compress(b'{"text": "hi"}')
    for coding in ("gzip", "deflate", "identity, gzip", "GZIP"):
        refused = client.post(
            "/triage", content=body, headers={**_json(), "content-encoding": coding}
        )
        assert refused.status_code == 415, coding
        assert refused.json()["error"]["code"] == "unsupported_media_type"
        assert "without Content-Encoding" in refused.json()["error"]["message"]
        assert refused.headers["accept-encoding"] == "identity"
    plain = client.post("/triage", json={"text": "hi"}, headers={"content-encoding": "identity"})
    assert plain.status_code == 200


def test_route_host_and_shedding_guards() -> None:
    client, shedder = _guarded()
    missing = client.get("/no/such/path")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    other_host = client.post("/triage", json={}, headers={"host": "evil.example"})
    assert other_host.status_code == 400
    shedder.in_flight = shedder.limit  # as if `limit` requests were being served
    shed = client.post("/triage", json={})
    assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
    assert shed.json()["error"]["code"] == "overloaded"
    shedder.in_flight = 0
    assert client.post("/triage", json={}).status_code == 200


def test_a_query_on_a_body_only_route_is_refused_naming_it() -> None:
    """Regression (a client trial): `POST /recommend?k=5` with {"k": 1} answered one item; the
    query was ignored without a word."""
    client, _ = _guarded()
    refused = client.post("/triage?k=5&user_id=197", json={})
    assert refused.status_code == 400
    assert "'k', 'user_id'" in refused.json()["error"]["message"]
    assert client.post("/triage?flag", json={}).status_code == 400  # a bare name too
    assert client.post("/triage", json={}).status_code == 200


def test_batches_have_their_own_budget_and_never_take_the_others() -> None:
    """Regression (a client trial): 40 concurrent batches of 300 texts took all 16 slots of a
    worker, so feeds were shed with 503 or waited seconds behind them."""
    client, shedder = _guarded()
    shedder.batches_in_flight = shedder.batch_limit  # as if two batches were being served
    shed = client.post("/triage_batch", json={"texts": ["hi"]})
    assert shed.status_code == 503 and "2 batch requests in flight" in shed.text
    assert client.post("/triage", json={}).status_code == 200  # a single text still gets in
    shedder.batches_in_flight = 0
    shedder.in_flight = shedder.limit  # and full single slots do not shed a batch
    assert client.post("/triage_batch", json={"texts": ["hi"]}).status_code == 200
    assert client.post("/triage", json={}).status_code == 503


def test_cross_origin_access_only_for_configured_origins() -> None:
    app: Any = Starlette(routes=[Route("/triage", _echo, methods=["POST"])])
    preflight = {
        "origin": "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key, content-type",
    }
    closed = TestClient(CorsGuard(app, origins=[])).options("/triage", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    opened = TestClient(CorsGuard(app, origins=["https://app.example"]))
    answer = opened.options("/triage", headers=preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    # Regression (gateway trial): a console on another origin could not read the request id.
    posted = opened.post("/triage", json={"text": "hi"}, headers={"origin": "https://app.example"})
    exposed = posted.headers["access-control-expose-headers"].lower()
    assert "x-bentoml-request-id" in exposed and "retry-after" in exposed


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}


# -- the real service over HTTP -----------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_roles_decide_what_a_key_may_call(service: ServiceProcess) -> None:
    for path in ("/admin/reload", "/corrections"):
        status, answer = service.post(path, {}, role="read")
        assert status == 403, answer
        assert answer["error"]["code"] == "forbidden" and "read" in answer["error"]["message"]
    status, answer = service.post("/recommend", {"user_id": "196", "k": 3}, role=None)
    assert status == 401 and answer["error"]["code"] == "unauthorized"
    status, answer, _ = service.request(
        "POST", "/recommend", b"{}", role=None, headers={"x-api-key": "not-a-key-0123456789"}
    )
    assert status == 401
    status, _, got = service.request(
        "GET", "/model_info", role=None, headers={"authorization": f"Bearer {API_KEYS['read']}"}
    )
    assert status == 200
    assert got["cache-control"] == "no-store" and got["x-content-type-options"] == "nosniff"
    # A good key beside a bad one: which counts would be a guess (a gateway may check the other)
    for other in ("not-a-key-0123456789", API_KEYS["admin"]):
        status, answer, _ = service.request(
            "GET", "/model_info", role="read", headers={"authorization": f"Bearer {other}"}
        )
        assert status == 401 and "2 different API keys" in answer["error"]["message"], answer
    same = {"authorization": f"Bearer {API_KEYS['read']}"}  # the same key twice is one key
    assert service.request("GET", "/model_info", role="read", headers=same)[0] == 200
    # Regression: an empty X-API-Key beside a valid Bearer key was let through (200).
    status, answer, _ = service.request(
        "GET", "/model_info", role=None, headers={**same, "x-api-key": ""}
    )
    assert status == 401 and "X-API-Key is empty" in answer["error"]["message"], answer
    assert service.post("/events", {"events": []}, role="triage")[0] == 403


@pytest.mark.integration
@pytest.mark.slow
def test_refused_input_is_logged_as_a_line_without_its_content(service: ServiceProcess) -> None:
    secret = "my card is 4111 1111 1111 1111 zq-marker"
    status, answer = service.post("/triage", {"text": secret, "language": 5}, role="triage")
    assert status == 400 and "language" in answer["error"]["message"], answer
    status, _ = service.post("/triage", {"text": secret, "customer_id": ["x"]}, role="triage")
    assert status == 400
    deadline = time.monotonic() + 5
    while "client error on /triage" not in (log := service.log_tail(2_000_000)):
        assert time.monotonic() < deadline, "the refusal was not logged"
        time.sleep(0.1)
    leaked = [line for line in log.splitlines() if "zq-marker" in line or "4111 1111" in line]
    assert not leaked, leaked[:3]
    assert "Exception on /triage" not in log


@pytest.mark.integration
@pytest.mark.slow
def test_a_path_cannot_forge_log_lines(service: ServiceProcess) -> None:
    """Regression: `%0A` in a path (no key needed) started a new line of the access log, so a
    client could append forged lines; `%00` wrote a NUL byte."""
    status, _ = service.get("/users/1%0AFORGED-zq%00LINE/profile", role=None)
    assert status in (401, 404)
    deadline = time.monotonic() + 5
    while "FORGED-zq" not in (log := service.log_tail(2_000_000)):
        assert time.monotonic() < deadline, "the request was not logged"
        time.sleep(0.1)
    assert not [line for line in log.splitlines() if line.startswith("FORGED-zq")]
    assert "\x00" not in log
    assert "/users/1\\x0aFORGED-zq\\x00LINE/profile" in log


@pytest.mark.integration
@pytest.mark.slow
def test_non_json_bodies_are_refused_with_415(service: ServiceProcess) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        status, answer, _ = service.request(
            "POST", "/triage", b"text=hello", headers={"content-type": content_type}
        )
        assert status == 415, answer
        assert answer["error"]["code"] == "unsupported_media_type"


@pytest.mark.integration
@pytest.mark.slow
def test_oversized_bodies_get_413_at_once_while_others_are_served(
    service: ServiceProcess,
) -> None:
    outcomes: list[int] = []
    stop = threading.Event()

    def steady_reads() -> None:
        while not stop.is_set():
            outcomes.append(service.post("/recommend", {"user_id": "196", "k": 3})[0])

    reader = threading.Thread(target=steady_reads)
    reader.start()
    try:
        time.sleep(0.3)
        key, upload = API_KEYS["triage"], load_bench_module("drill_clients").raw_upload
        declared = upload("127.0.0.1", service.port, "/triage", key, 50_000_000, chunked=False)
        assert declared[0] == 413 and declared[1] < 1.0, declared
        streamed = upload("127.0.0.1", service.port, "/triage", key, 800 * 65536, chunked=True)
        assert streamed[0] == 413 and streamed[1] < 1.0, streamed
        assert streamed[2] < 800 * 65536  # the server answered before the whole body came
        time.sleep(0.3)
    finally:
        stop.set()
        reader.join(timeout=30)
    assert outcomes and all(status == 200 for status in outcomes), outcomes


def _metric_endpoints(service: ServiceProcess) -> set[str]:
    with urllib.request.urlopen(service.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        line.split('endpoint="', 1)[1].split('"', 1)[0]
        for line in text.splitlines()
        if 'endpoint="' in line
    }


@pytest.mark.integration
@pytest.mark.slow
def test_unknown_paths_are_404_and_add_no_metric_series(service: ServiceProcess) -> None:
    before = _metric_endpoints(service)
    assert before  # the known routes are there: the comparison below is not vacuous
    for number in range(300):
        status, answer = service.get(f"/junk-{number}/x", role=None)
        assert status == 404 and answer["error"]["code"] == "not_found"
    after = _metric_endpoints(service)
    assert not {name for name in after if "junk" in name}
    assert after <= before | {"/recommend", "/similar_items", "/triage", "/model_info"}


@pytest.mark.integration
@pytest.mark.slow
def test_the_open_docs_page_runs_no_third_party_script(service: ServiceProcess) -> None:
    """Regression: `/` (BentoML's Swagger UI) loaded Google Tag Manager, with no policy, on the
    origin where the desk keeps an agent's key."""
    status, page, headers = service.request("GET", "/", role=None)
    assert status == 200 and "swagger-ui" in page
    policy = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.integration
@pytest.mark.slow
def test_a_foreign_host_header_is_refused(service: ServiceProcess) -> None:
    status, answer, _ = service.request("GET", "/model_info", headers={"host": "attacker.example"})
    assert status == 400 and answer["error"]["code"] == "bad_request"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(
    ("keys", "sentence"),
    [
        ({}, "refuses to start without API keys"),
        ({"AGORA_API_KEY": "an-old-single-key-0123456789"}, "set AGORA_API_KEYS"),
    ],
)
def test_the_service_refuses_to_start_without_keys(
    tmp_path: Path, keys: dict[str, str], sentence: str
) -> None:
    env = service_env(tmp_path, **keys)
    del env["AGORA_API_KEYS"]
    env.pop("AGORA_INSECURE_DEV", None)
    server = ServiceProcess(env, log_path=tmp_path / "service.log")
    with pytest.raises(ServiceStartError, match=sentence):
        server.start(timeout=60)
    assert not server.running


@pytest.mark.integration
@pytest.mark.slow
def test_insecure_dev_mode_starts_open(champions_home: Path, tmp_path: Path) -> None:
    env = service_env(
        champions_home, AGORA_INSECURE_DEV="1", AGORA_STORE_URL=f"sqlite:///{tmp_path}/e.db"
    )
    del env["AGORA_API_KEYS"]
    server = ServiceProcess(env, log_path=tmp_path / "service.log").start()
    try:
        status, info = server.get("/model_info", role=None)
        assert status == 200 and info["ready"], info
        assert "EVERY ROUTE IS OPEN" in server.log_tail(200_000)
    finally:
        server.stop()


def test_error_bodies_are_json_sentences() -> None:
    # The shape every guard answers with (serving.errors): parsed here once, without a server.
    client, _ = _guarded()
    body = client.get("/nowhere").json()
    assert set(body["error"]) == {"status", "code", "message"}
    assert json.dumps(body)
