"""The real service over HTTP: feeds, similar items, triage, auth, bad input, cache fallback."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.serving.conftest import ServiceProcess, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _body(**fields: object) -> dict[str, object]:
    """A request body: the fields at the top level (no wrapper)."""
    return fields


def assert_error_shape(answer: object, status: int) -> dict[str, object]:
    """The answer is the one error body: status, a stable code and a message."""
    assert isinstance(answer, dict) and set(answer) == {"error"}, answer
    error = answer["error"]
    assert error["status"] == status and error["code"] and error["message"], answer
    return error


def test_known_user_gets_personalized_unseen_items(service: ServiceProcess) -> None:
    status, answer = service.post("/recommend", _body(user_id="196", k=5))
    assert status == 200, answer
    assert answer["strategy"] == "personalized"
    assert len(answer["items"]) == 5 and all(item["title"] for item in answer["items"])
    assert answer["model"] == {"name": "agora-recommender", "version": "1", "source": "registry"}


def test_cold_start_user_by_items_and_by_query(service: ServiceProcess) -> None:
    status, by_items = service.post(
        "/recommend", _body(user_id="new-1", k=10, recent_items=["50", "172", "181"])
    )
    assert status == 200 and by_items["strategy"] == "personalized"
    returned = {item["item_id"] for item in by_items["items"]}
    assert not returned & {"50", "172", "181"}  # what they already saw is not recommended
    status, by_query = service.post("/recommend", _body(user_id="new-2", query="space adventure"))
    assert status == 200 and by_query["strategy"] == "cold-start-content"
    assert sum("Sci-Fi" in item["genres"] for item in by_query["items"]) >= 3
    status, nothing = service.post("/recommend", _body(user_id="new-3", k=3))
    assert status == 200 and nothing["strategy"] == "popular-fallback"


def test_filters_are_respected(service: ServiceProcess) -> None:
    status, answer = service.post(
        "/recommend",
        _body(
            user_id="196", k=10, filters={"include_genres": ["Comedy"], "exclude_item_ids": ["1"]}
        ),
    )
    assert status == 200
    assert all("Comedy" in item["genres"] for item in answer["items"])
    assert "1" not in {item["item_id"] for item in answer["items"]}


def test_similar_items(service: ServiceProcess) -> None:
    status, answer = service.post("/similar_items", _body(item_id="50", k=5))
    assert status == 200 and len(answer["items"]) == 5
    assert "50" not in {item["item_id"] for item in answer["items"]}


def test_triage_single_and_batch(service: ServiceProcess) -> None:
    status, answer = service.post(
        "/triage",
        _body(text="My bag was lost and nobody helps. I will sue you.", customer_id="cust-1"),
    )
    assert status == 200, answer
    result = answer["result"]
    assert answer["triage_id"]
    assert result["sentiment"]["label"] == "negative" and result["complaint"]["is_complaint"]
    assert result["urgency"]["level"] in {"high", "critical"}
    assert any(rule["rule"] == "legal" for rule in result["urgency"]["fired"])
    assert {m["name"] for m in result["models"]} >= {"agora-triage-sentiment-en"}
    texts = ["送餐太慢了，饭都凉了", "thanks, lovely crew and smooth flight", "   ", "Привет"]
    status, batch = service.post("/triage_batch", _body(texts=texts))
    assert status == 200
    statuses = [r["status"] for r in batch["results"]]
    assert statuses == ["ok", "ok", "empty", "unsupported_language"]
    assert batch["results"][0]["language"]["code"] == "zh"
    assert batch["results"][0]["sentiment"]["label"] == "negative"


def test_api_key_is_required_except_for_health(service: ServiceProcess) -> None:
    assert service.post("/recommend", _body(user_id="196"), role=None)[0] == 401
    assert service.get("/model_info", role=None)[0] == 401
    assert service.get("/readyz", role=None)[0] == 200
    assert service.get("/metrics", role=None)[0] == 200


@pytest.mark.parametrize(
    ("path", "payload", "status", "message"),
    [
        ("/recommend", _body(user_id="196", k=0), 400, "greater than or equal to 1"),
        ("/recommend", _body(user_id="196", k=10_000), 400, "less than or equal to 100"),
        ("/recommend", _body(k=5), 400, "user_id"),
        # ' 196' would be a stranger to the model that knows '196': refused, not a cold start
        ("/recommend", _body(user_id=" 196", k=5), 400, "start or end with spaces"),
        ("/similar_items", _body(item_id="50 ", k=5), 400, "start or end with spaces"),
        (
            "/events",
            _body(events=[{"event_id": "e", "user_id": "196 ", "item_id": "50"}]),
            400,
            "start or end with spaces",
        ),
        ("/similar_items", _body(item_id="no-such-item", k=5), 404, "no-such-item"),
        ("/triage", _body(text="x" * (100 * 1024 + 1)), 400, "100 KB"),
        ("/triage_batch", _body(texts=["hello"] * 1001), 400, "at most 1000"),
        ("/recommend", b"{not json", 400, "Invalid JSON"),
        # Parsers disagree on which of two values counts; a proxy may have checked the other
        ("/recommend", b'{"user_id": "196", "k": 3, "user_id": "1"}', 400, "'user_id' twice"),
        ("/triage_batch", b'{"texts": ["a"], "options": {"x": 1, "x": 2}}', 400, "'x' twice"),
        (
            "/recommend",
            b'{"user_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            400,
            "recursion limit",
        ),
        (
            "/events",
            _body(events=[{"event_id": "e", "user_id": "u", "item_id": "i", "type": "x"}]),
            400,
            "type",
        ),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(
    service: ServiceProcess, path: str, payload: object, status: int, message: str
) -> None:
    got, answer = service.post(path, payload)
    assert got == status
    assert message in assert_error_shape(answer, status)["message"]


def test_a_page_position_past_what_the_store_counts_is_a_400(service: ServiceProcess) -> None:
    """Regression (schemathesis): `after` past a 64-bit integer reached the database, a 500."""
    status, answer = service.get("/items/retired?after=10390171610263581915739062272")
    assert status == 400 and "after" in assert_error_shape(answer, 400)["message"]
    status, answer = service.get(f"/items/retired?after={2**63 - 1}")
    assert status == 200 and answer["items"] == []


def test_a_validator_refusal_reads_as_a_sentence(service: ServiceProcess) -> None:
    status, answer = service.post("/recommend", _body(user_id=" 196", k=5))
    message = assert_error_shape(answer, 400)["message"]
    assert status == 400 and message.startswith("user_id: must not be blank"), message


def test_a_body_after_a_byte_order_mark_is_read(service: ServiceProcess) -> None:
    # Some .NET and Windows clients start their UTF-8 JSON with a BOM (RFC 8259: may be ignored)
    status, answer = service.post("/recommend", b"\xef\xbb\xbf" + json_bytes(_body(user_id="196")))
    assert status == 200 and answer["strategy"] == "personalized", answer


def test_a_wrapped_body_is_refused_naming_the_unknown_field(service: ServiceProcess) -> None:
    # Regression: the old `{"request": {...}}` wrapper must not be silently half-accepted.
    status, answer = service.post("/recommend", {"request": {"user_id": "196"}})
    message = assert_error_shape(answer, 400)["message"]
    assert status == 400 and "request" in message


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/no-such-route", 404, "not_found"),
        ("GET", "/recommend", 405, "method_not_allowed"),
    ],
)
def test_routing_errors_have_the_shared_shape(
    service: ServiceProcess, method: str, path: str, status: int, code: str
) -> None:
    got, answer, _ = service.request(method, path, b"{}" if method == "POST" else None)
    assert got == status
    assert assert_error_shape(answer, status)["code"] == code


def test_triage_idempotency_key_returns_the_first_triage_without_a_new_contact(
    service: ServiceProcess,
) -> None:
    customer, key = f"idem-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    body = _body(text="My bag was lost.", customer_id=customer, idempotency_key=key)
    status, first = service.post("/triage", body)
    assert status == 200 and first["triage_id"], first
    status, retry = service.post("/triage", body)
    assert status == 200 and retry["triage_id"] == first["triage_id"]
    assert retry["result"]["prior_contacts"] == first["result"]["prior_contacts"] == 0
    # The header carries the same key; a second, unkeyed contact counts the first once.
    status, by_header, _ = service.request(
        "POST",
        "/triage",
        json_bytes(_body(text="My bag was lost.", customer_id=customer)),
        headers={"Idempotency-Key": key},
    )
    assert status == 200 and by_header["triage_id"] == first["triage_id"]
    status, second = service.post("/triage", _body(text="Still no bag.", customer_id=customer))
    assert status == 200 and second["result"]["prior_contacts"] == 1
    # The same key for another text is a conflict, not a silent reuse.
    status, answer = service.post(
        "/triage", _body(text="Another text.", customer_id=customer, idempotency_key=key)
    )
    assert status == 409 and assert_error_shape(answer, 409)["code"] == "conflict"


def test_correction_agent_is_the_key_name_and_not_a_body_field(service: ServiceProcess) -> None:
    status, triaged = service.post(
        "/triage", _body(text="The seat was broken.", customer_id="agent-test")
    )
    assert status == 200 and triaged["triage_id"]
    correction = _body(triage_id=triaged["triage_id"], field="sentiment", correct_label="negative")
    status, answer = service.post("/corrections", {**correction, "agent": "someone-else"})
    assert status == 400 and "name of the API key" in assert_error_shape(answer, 400)["message"]
    status, stored = service.post("/corrections", correction)
    assert status == 200 and stored["stored"], stored
    status, answer = service.post("/corrections", {**correction, "triage_id": "no-such-triage"})
    assert status == 404 and assert_error_shape(answer, 404)["code"] == "not_found"


def test_a_correction_takes_only_a_label_the_served_models_know(service: ServiceProcess) -> None:
    status, triaged = service.post("/triage", _body(text="Rude staff.", customer_id="label-test"))
    assert status == 200
    correction = _body(triage_id=triaged["triage_id"], field="sentiment", correct_label="furious")
    status, answer = service.post("/corrections", correction)
    message = assert_error_shape(answer, 400)["message"]
    assert status == 400 and "'negative', 'neutral', 'positive'" in message, message
    status, answer = service.post("/corrections", {**correction, "field": "urgency"})
    assert status == 400 and "urgency" in assert_error_shape(answer, 400)["message"]
    # Case and outer spaces are the agent's, the label the model's: a retry spelt the model's
    # way under the same correction_id is the same correction, not a conflict.
    spelt = {**correction, "correct_label": " Negative", "correction_id": "c-label-test"}
    status, first = service.post("/corrections", spelt)
    assert status == 200 and first["stored"], first
    status, again = service.post("/corrections", {**spelt, "correct_label": "negative"})
    assert status == 200 and not again["stored"], again


def json_bytes(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_model_info_names_versions_and_source(service: ServiceProcess) -> None:
    status, info = service.get("/model_info")
    assert status == 200 and info["ready"]
    assert info["models"]["recommender"]["version"] == "1"
    assert info["models"]["sentiment-zh"]["source"] == "registry"


def test_restart_with_registry_unreachable_serves_cached_champion(
    service: ServiceProcess, champions_home: Path
) -> None:
    # The module's service already cached the champions; a closed port stands for the outage.
    assert service.post("/recommend", {"user_id": "196", "k": 3})[0] == 200
    offline = ServiceProcess(
        service_env(champions_home, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    ).start()
    try:
        # A second service on the same machine keeps its metrics apart: BentoML's shared
        # default folder, emptied at each start, used to wipe the first service's counters.
        assert _recommend_requests(service) >= 1
        status, info = offline.get("/model_info")
        assert status == 200 and info["ready"]
        assert {m["source"] for m in info["models"].values()} == {"local-cache"}
        assert "127.0.0.1:9" in info["models"]["recommender"]["registry_error"]
        status, answer = offline.post("/recommend", {"user_id": "196", "k": 3})
        assert status == 200 and answer["model"]["source"] == "local-cache"
    finally:
        offline.stop()


def test_a_retried_event_without_timestamp_is_a_duplicate_not_a_conflict(
    service: ServiceProcess,
) -> None:
    event = {"event_id": f"retry-{uuid.uuid4().hex}", "user_id": "196", "item_id": "50"}
    sent = _body(events=[{**event, "type": "view"}])
    status, first = service.post("/events", sent)
    assert status == 200 and first == {"accepted": 1, "duplicates": 0}
    time.sleep(1.1)  # the receipt stamp of the retry is a later second
    status, again = service.post("/events", sent)
    assert status == 200 and again == {"accepted": 0, "duplicates": 1}, again
    # Other content under the same id is still a conflict: another type, or a stated time.
    status, answer = service.post("/events", _body(events=[{**event, "type": "click"}]))
    assert status == 409 and assert_error_shape(answer, 409)["code"] == "conflict"
    stated = _body(events=[{**event, "type": "view", "timestamp": 1_000_000}])
    status, answer = service.post("/events", stated)
    assert status == 409, answer
    # In one batch, the same id with and without a stated time is two contents, not a repeat.
    twice = {"event_id": f"twice-{uuid.uuid4().hex}", "user_id": "196", "item_id": "50"}
    both = [{**twice, "type": "view"}, {**twice, "type": "view", "timestamp": 1_000_000}]
    status, answer = service.post("/events", _body(events=both))
    assert status == 409 and "twice" in assert_error_shape(answer, 409)["message"], answer


def test_texts_at_their_limit_pass_however_the_client_escapes_them(
    service: ServiceProcess,
) -> None:
    # json.dumps escapes each Chinese character as \uXXXX: 6 bytes of body for 3 of text.
    text = "航班取消了" * 6_800  # 102,000 UTF-8 bytes, under the 102,400 limit
    body = json.dumps({"text": text}).encode()
    assert len(body) > 2 * len(text.encode())
    status, answer = service.post("/triage", body)
    assert status == 200, answer
    status, answer = service.post("/triage", json.dumps({"text": text + "航班" * 150}).encode())
    assert status == 400 and "limit" in assert_error_shape(answer, 400)["message"], answer


def _recommend_requests(service: ServiceProcess) -> float:
    """The service's /recommend request count, from its Prometheus counters."""
    status, text = service.get("/metrics", role=None)
    assert status == 200
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in str(text).splitlines()
        if line.startswith("bentoml_service_request_total") and 'endpoint="/recommend"' in line
    )
