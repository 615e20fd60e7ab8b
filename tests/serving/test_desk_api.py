"""The desk's API as the desk page and other agents' clients call it: resolving a case once
(two agents, one case) and reading the queue page by page with an agent's filters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cli.launcher import api_keys_setting
from tests.serving.conftest import API_KEYS, ServiceProcess, service_env

pytestmark = pytest.mark.integration

# A second agent beside the tests' `agent` key (named `agent-local`): two people on one desk.
BO_KEY = "test-agent-bo-key-0123456789abcdef"
ANA = "agent-local"


@pytest.fixture(scope="module")
def desk(
    champions_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """A service with its own store (the queue holds this module's cases only), two agents."""
    store = tmp_path_factory.mktemp("desk-api") / "desk.db"
    keys = f"{api_keys_setting(API_KEYS)},agent:bo:{BO_KEY}"
    running = ServiceProcess(
        service_env(champions_home, AGORA_STORE_URL=f"sqlite:///{store}", AGORA_API_KEYS=keys)
    ).start()
    yield running
    running.stop()


def _as_bo(service: ServiceProcess, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
    status, answer, _ = service.request(
        "POST", path, json.dumps(payload).encode(), role=None, headers={"x-api-key": BO_KEY}
    )
    return status, answer


def _triaged(service: ServiceProcess, text: str, customer: str) -> str:
    status, answer = service.post("/triage", {"text": text, "customer_id": customer})
    assert status == 200, answer
    return str(answer["triage_id"])


def test_a_resolved_case_is_refused_a_second_resolution_naming_who_and_when(
    desk: ServiceProcess,
) -> None:
    """Regression: a second agent's resolution of a resolved case was stored too (200), and
    the knowledge base held two resolutions of the case."""
    case = _triaged(desk, "You lost my bag on the flight to Denver", "desk-api-1")
    first = {"triage_id": case, "resolution": "Couriered the bag home.", "outcome": "resolved"}
    status, stored = desk.post("/resolutions", first)
    assert status == 200 and stored["stored"], stored

    late = {"triage_id": case, "resolution": "Refunded the bag fee.", "outcome": "resolved"}
    status, refused = _as_bo(desk, "/resolutions", late)
    assert status == 409, refused
    error = refused["error"]
    assert error["code"] == "already_resolved"
    assert f"already resolved: {ANA} recorded it as resolved at 20" in error["message"]
    assert " UTC" in error["message"]
    assert error["resolution"]["resolution_id"] == stored["resolution_id"]
    assert error["resolution"]["agent"] == ANA and error["resolution"]["outcome"] == "resolved"

    # Said explicitly, a resolution replaces the latest one; a stale replacement is refused.
    status, replaced = _as_bo(desk, "/resolutions", {**late, "replaces": stored["resolution_id"]})
    assert status == 200 and replaced["stored"], replaced
    status, stale = desk.post("/resolutions", {**first, "replaces": stored["resolution_id"]})
    assert status == 409 and "bo recorded it as resolved" in stale["error"]["message"], stale
    status, listed = desk.get("/desk/queue?include_resolved=true")
    assert status == 200, listed
    [shown] = [c for c in listed["cases"] if c["triage_id"] == case]
    assert shown["resolution"]["agent"] == "bo"
    assert shown["resolution"]["resolution_id"] == replaced["resolution_id"]


def test_two_agents_resolving_one_case_at_once_store_one_resolution(
    desk: ServiceProcess,
) -> None:
    """Regression: two agents clicking Resolve on one case at once were both answered 200."""
    for attempt in range(5):  # each round a new case, both POSTs released together
        case = _triaged(
            desk, f"Flight cancelled, no refund yet ({attempt})", f"desk-race-{attempt}"
        )
        body = {"triage_id": case, "resolution": "Refund issued.", "outcome": "resolved"}
        start = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(
                    _resolve_at_once, [desk, desk], [start, start], [body, body], [None, BO_KEY]
                )
            )
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 409], answers
        [(_, refused)] = [a for a in answers if a[0] == 409]
        assert refused["error"]["code"] == "already_resolved", refused


def _resolve_at_once(
    desk: ServiceProcess, start: threading.Barrier, body: dict[str, Any], key: str | None
) -> tuple[int, Any]:
    start.wait()
    return _as_bo(desk, "/resolutions", body) if key else desk.post("/resolutions", body)
