"""The real service over HTTP: feeds, similar items, triage, auth, bad input, cache fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serving.conftest import ServiceProcess, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _body(**request: object) -> dict[str, object]:
    return {"request": request}


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
    assert service.post("/recommend", _body(user_id="196"), auth=False)[0] == 401
    assert service.get("/model_info", auth=False)[0] == 401
    assert service.get("/readyz", auth=False)[0] == 200
    assert service.get("/metrics", auth=False)[0] == 200


@pytest.mark.parametrize(
    ("path", "payload", "status", "message"),
    [
        ("/recommend", _body(user_id="196", k=0), 400, "greater than or equal to 1"),
        ("/recommend", _body(user_id="196", k=10_000), 400, "less than or equal to 100"),
        ("/recommend", _body(k=5), 400, "user_id"),
        ("/similar_items", _body(item_id="no-such-item", k=5), 404, "no-such-item"),
        ("/triage", _body(text="x" * (100 * 1024 + 1)), 400, "100 KB"),
        ("/triage_batch", _body(texts=["hello"] * 1001), 400, "at most 1000"),
        ("/recommend", b"{not json", 400, "Invalid JSON"),
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
    assert message in json.dumps(answer)


def test_model_info_names_versions_and_source(service: ServiceProcess) -> None:
    status, info = service.get("/model_info")
    assert status == 200 and info["ready"]
    assert info["models"]["recommender"]["version"] == "1"
    assert info["models"]["sentiment-zh"]["source"] == "registry"


def test_restart_with_registry_unreachable_serves_cached_champion(
    service: ServiceProcess, champions_home: Path
) -> None:
    # The module's service already cached the champions; a closed port stands for the outage.
    offline = ServiceProcess(
        service_env(champions_home, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    ).start()
    try:
        status, info = offline.get("/model_info")
        assert status == 200 and info["ready"]
        assert {m["source"] for m in info["models"].values()} == {"local-cache"}
        assert "127.0.0.1:9" in info["models"]["recommender"]["registry_error"]
        status, answer = offline.post("/recommend", {"request": {"user_id": "196", "k": 3}})
        assert status == 200 and answer["model"]["source"] == "local-cache"
    finally:
        offline.stop()
