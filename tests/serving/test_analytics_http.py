"""`GET /analytics/complaints` and `POST /admin/analyse` over HTTP, as clients call them: the
counts of what was triaged, clear 400s, and the roles (401 without a key, 403 with another)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.serving.conftest import ServiceProcess

pytestmark = [pytest.mark.integration]

# A day no other module's records use (the session service's store is shared).
DAY = dt.datetime(2001, 3, 7, tzinfo=dt.UTC).timestamp()
ITEM = "analytics-http-item"
TEXTS = [
    "terrible service, my flight was cancelled and nobody helped, worst airline",
    "lost my luggage again, awful, furious",
    "thanks, the crew was lovely and the flight was great",
]


@pytest.fixture(scope="module")
def triaged(service: ServiceProcess) -> ServiceProcess:
    for k, text in enumerate(TEXTS * 2):
        at = DAY + (0 if k < 3 else 86400) + 60 * k
        body = {"text": text, "customer_id": f"an-{k}", "item_id": ITEM, "occurred_at": int(at)}
        status, answer = service.post("/triage", body)
        assert status == 200, answer
    return service


def test_daily_counts_of_what_was_triaged(triaged: ServiceProcess) -> None:
    status, answer = triaged.get("/analytics/complaints?since=2001-03-07&until=2001-03-09&by=item")
    assert status == 200, answer
    assert answer["days"] == ["2001-03-07", "2001-03-08"]
    assert answer["messages"] == [3, 3]
    groups = {g["group"]: g["counts"] for g in answer["groups"]}
    assert groups.get(ITEM, [0, 0]) == answer["complaints"]
    assert answer["complaints"][0] == answer["complaints"][1] >= 1
    negative = answer["negative_share"]
    assert negative[0] == negative[1] and 0 < negative[0] < 1
    assert {"top_items", "alerts", "emerging_terms", "other"} <= set(answer)


def test_days_are_those_of_the_time_zone_asked(triaged: ServiceProcess) -> None:
    # The records are at 00:00-00:05 UTC: 16:00 the day before in Los Angeles.
    query = "since=2001-03-06&until=2001-03-08&by=item"
    status, local = triaged.get(f"/analytics/complaints?{query}&tz=America/Los_Angeles")
    assert status == 200, local
    assert local["days"] == ["2001-03-06", "2001-03-07"] and local["messages"] == [3, 3]
    assert local["time_zone"] == "America/Los_Angeles"
    status, utc = triaged.get(f"/analytics/complaints?{query}")
    assert status == 200 and utc["messages"] == [0, 3], utc


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("since=last-week", "since"),
        ("since=7d&by=colour", "by"),
        ("since=2000-01-01&until=2001-01-01", "at most"),
        ("since=2001-03-09&until=2001-03-07", "before"),
        ("until=1e12", "9999-12-30"),  # past the calendar: was a 500
        ("until=1e20", "9999-12-30"),
        ("sinse=30d", "'sinse'"),  # a typo: was answered with the default window
        ("since=7d&tz=Beijing", "time zone"),
        ("since=2026-11-01&tz=Europe", "time zone"),  # a zone database folder: was a 500
    ],
)
def test_bad_queries_are_clear_400s(triaged: ServiceProcess, query: str, word: str) -> None:
    status, answer = triaged.get(f"/analytics/complaints?{query}")
    assert status == 400, answer
    assert word in answer["error"]["message"]


def test_roles(triaged: ServiceProcess) -> None:
    assert triaged.get("/analytics/complaints", role=None)[0] == 401
    assert triaged.get("/analytics/complaints", role="read")[0] == 403
    assert triaged.get("/analytics/complaints", role="agent")[0] == 200
    assert triaged.post("/admin/analyse", {}, role="agent")[0] == 403


def test_admin_analyse_runs_the_window_ending_then(triaged: ServiceProcess) -> None:
    until = DAY + 86400 + 3600 + 120
    status, answer = triaged.post("/admin/analyse", {"until": until}, role="admin")
    assert status == 200, answer
    assert answer["window_end"] == DAY + 86400 + 3600
    assert answer["window_start"] == DAY + 86400
    assert answer["raised"] == []  # three messages are nobody's spike
    for refused in ("soon", 1e20, True):  # true was read as 1: a window in 1970
        status, answer = triaged.post("/admin/analyse", {"until": refused}, role="admin")
        assert status == 400 and "until" in answer["error"]["message"], answer
    status, answer = triaged.post("/admin/analyse", b'{"until": NaN}', role="admin")
    assert status == 400 and "finite" in answer["error"]["message"], answer
