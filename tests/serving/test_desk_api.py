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

from tests.serving.conftest import BO_KEY, ServiceProcess, two_agent_desk

pytestmark = pytest.mark.integration

ANA = "agent-local"


@pytest.fixture(scope="module")
def desk(
    champions_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """A service with its own store (the queue holds this module's cases only), two agents."""
    running = two_agent_desk(champions_home, tmp_path_factory.mktemp("desk-api") / "desk.db")
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


def _ids(answer: dict[str, Any]) -> list[str]:
    return [case["triage_id"] for case in answer["cases"]]


def test_the_queue_is_read_page_by_page_from_a_cursor(desk: ServiceProcess) -> None:
    """Regression: the desk could read only the 50 most urgent cases of the last 7 days; the
    rest were out of reach. Pages follow a cursor: a case that arrives or is resolved meanwhile
    neither repeats nor skips a case."""
    mine = [_triaged(desk, f"My refund is late, case {i}", f"desk-page-{i}") for i in range(7)]
    status, first = desk.get("/desk/queue?limit=3")
    assert status == 200, first
    assert len(first["cases"]) == 3 and first["next_cursor"] and first["total"] >= 7
    seen = _ids(first)
    total, cursor = first["total"], first["next_cursor"]
    # Meanwhile a case arrives and one not yet read is resolved.
    newcomer = _triaged(desk, "Where is my refund, I asked a week ago", "desk-page-new")
    unread = next(i for i in mine if i not in seen)
    body = {"triage_id": unread, "resolution": "Refund sent.", "outcome": "resolved"}
    assert desk.post("/resolutions", body)[0] == 200
    while cursor:
        status, page = desk.get(f"/desk/queue?limit=3&cursor={cursor}")
        assert status == 200, page
        assert page["window"] == first["window"]  # the first page's window holds
        seen += _ids(page)
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == total - 1  # all but the one resolved meanwhile
    assert set(mine) - {unread} <= set(seen) and unread not in seen
    assert newcomer not in seen  # it arrived after the window the pages read


def test_the_queue_filters_by_status_urgency_queue_and_dates(desk: ServiceProcess) -> None:
    case = _triaged(desk, "The app crashes when I pay, fix it now", "desk-filter-1")
    other = _triaged(desk, "Lost my luggage again on the flight home", "desk-filter-2")
    body = {"triage_id": other, "resolution": "Bag delivered.", "outcome": "resolved"}
    assert desk.post("/resolutions", body)[0] == 200

    status, resolved = desk.get("/desk/queue?status=resolved&limit=200")
    assert status == 200 and other in _ids(resolved) and case not in _ids(resolved), resolved
    assert all(c["resolution"]["outcome"] != "not_resolved" for c in resolved["cases"])
    status, everything = desk.get("/desk/queue?status=all&limit=200")
    assert {case, other} <= set(_ids(everything))
    [row] = [c for c in everything["cases"] if c["triage_id"] == case]
    for name in ("urgency", "queue"):
        value = row["corrections"].get(name) or row[name]
        status, chosen = desk.get(f"/desk/queue?status=all&limit=200&{name}={value}")
        assert status == 200 and case in _ids(chosen), chosen
        assert all((c["corrections"].get(name) or c[name]) == value for c in chosen["cases"])
        assert chosen["total"] == len(chosen["cases"])
    status, long_ago = desk.get("/desk/queue?status=all&since=2001-01-01&until=2001-01-08")
    assert status == 200 and long_ago["cases"] == [] and long_ago["total"] == 0, long_ago
    status, today = desk.get("/desk/queue?status=all&limit=200&since=1d&tz=Asia/Shanghai")
    assert status == 200 and {case, other} <= set(_ids(today)), today


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("status=closed", "status"),
        ("urgency=urgent", "urgency"),
        ("queue=" + "q" * 257, "queue"),
        ("queue=", "queue"),
        ("since=2020-01-01&until=2021-01-01", "at most 90 days"),
        ("since=2021-01-08&until=2021-01-01", "before until"),
        ("since_hours=24&since=2021-01-01", "not both"),
        ("since_hours=5000", "since_hours"),
        ("since=" + "2" * 41, "since"),
        ("since=last%20week", "since='last week'"),
        ("tz=Europe/Paris", "tz places the dates"),
        ("status=all&include_resolved=true", "send one"),
        ("cursor=garbage", "cursor is not one this desk gave"),
        ("cursor=" + "c" * 2049, "cursor"),
        ("page=2", "page"),
    ],
)
def test_a_queue_query_that_does_not_fit_is_a_400_saying_why(
    desk: ServiceProcess, query: str, says: str
) -> None:
    status, answer = desk.get(f"/desk/queue?{query}")
    assert status == 400, answer
    assert says in answer["error"]["message"], answer


def test_a_cursor_pages_only_the_query_that_gave_it(desk: ServiceProcess) -> None:
    for i in range(3):
        _triaged(desk, f"Charged twice for one ticket ({i})", f"desk-cursor-{i}")
    status, first = desk.get("/desk/queue?status=all&limit=1")
    assert status == 200 and first["next_cursor"], first
    cursor = first["next_cursor"]
    assert desk.get(f"/desk/queue?status=all&limit=1&cursor={cursor}")[0] == 200
    status, answer = desk.get(f"/desk/queue?status=open&limit=1&cursor={cursor}")
    assert status == 400 and "another query (status differ)" in answer["error"]["message"]
