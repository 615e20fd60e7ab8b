"""`GET /users/{id}/profile` over HTTP, and a segment's feed rule on `/recommend`.

The session's shared server (hybrid champion on MovieLens-100K); its store is written here as
`agora segments` and the triage log would write it. MovieLens users 427 and 615 and the
`profile-*` ids are used by no other module.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from data.loaders import load_items
from data.store import SegmentRow, Store
from tests.serving.conftest import ServiceProcess

pytestmark = pytest.mark.integration

KNOWN, AT_RISK = "427", "615"


@pytest.fixture(scope="module")
def profiled(service: ServiceProcess) -> ServiceProcess:
    """The shared server with a segmentation run stored for KNOWN (core) and AT_RISK."""
    assert service.env is not None
    store = Store(service.env["AGORA_STORE_URL"])
    details = json.dumps({"events": 120, "recency_days": 3.0, "taste_cluster": 2})
    store.segments.replace(
        "run-profile-test",
        [SegmentRow(KNOWN, "core", details), SegmentRow(AT_RISK, "at_risk", details)],
    )
    store.engine.dispose()
    return service


def post_events(service: ServiceProcess, user: str, kind: str, items: list[str]) -> None:
    events = [
        {"event_id": uuid.uuid4().hex, "user_id": user, "item_id": item, "type": kind}
        for item in items
    ]
    status, answer = service.post("/events", {"events": events})
    assert status == 200, answer


def profile(service: ServiceProcess, user: str, role: str | None = "read") -> tuple[int, Any]:
    return service.get(f"/users/{user}/profile", role=role)


def test_a_known_user_gets_the_stored_segment_and_top_genres(profiled: ServiceProcess) -> None:
    status, answer = profiled.get(f"/users/{KNOWN}/profile")
    assert status == 200, answer
    assert answer["cold"] is False and answer["known_from"]["in_model"] is True
    segment = answer["segment"]
    assert (segment["name"], segment["source"], segment["run_id"]) == (
        "core",
        "last-run",
        "run-profile-test",
    )
    assert segment["details"]["taste_cluster"] == 2 and segment["description"]
    genres = answer["top_genres"]
    assert 1 <= len(genres) <= 5 and sum(g["share"] for g in genres) <= 1.0 + 1e-6
    assert [g["share"] for g in genres] == sorted((g["share"] for g in genres), reverse=True)
    assert answer["recent_complaints"] == []
    assert profile(profiled, KNOWN, role="agent")[0] == profile(profiled, KNOWN, "admin")[0] == 200


def test_a_cold_user_gets_a_stated_fallback_tier(profiled: ServiceProcess) -> None:
    user = f"profile-{uuid.uuid4().hex[:10]}"
    post_events(profiled, user, "view", ["50", "181"])  # Star Wars, Return of the Jedi
    status, answer = profile(profiled, user)
    assert status == 200, answer
    assert answer["cold"] is True
    known = {"last_run": False, "events": 2, "contacts": 0, "in_model": False}
    assert answer["known_from"] == known
    assert answer["segment"]["name"] == "newcomer" and answer["segment"]["source"] == "fallback"
    assert "not in the last segmentation run" in answer["segment"]["note"]
    assert "Sci-Fi" in {g["genre"] for g in answer["top_genres"]}


def test_a_user_known_only_from_a_complaint_is_at_risk(profiled: ServiceProcess) -> None:
    user = f"profile-{uuid.uuid4().hex[:10]}"
    assert profiled.env is not None
    store = Store(profiled.env["AGORA_STORE_URL"])
    outputs = {"reason": {"label": "Late Flight"}, "sentiment": {"label": "negative"}}
    store.triage.record("my flight was late", outputs, {}, "en", True, user, item_id="50")
    store.engine.dispose()
    status, answer = profile(profiled, user)
    assert status == 200, answer
    assert answer["segment"]["name"] == "at_risk" and answer["segment"]["source"] == "fallback"
    assert answer["segment"]["feed_rules"] == {"exclude_complained_genres": True}
    [complaint] = answer["recent_complaints"]
    assert complaint["reason"] == "Late Flight" and complaint["open"] is True
    assert "text" not in complaint and "redacted_text" not in complaint
    # The fallback tier's rule shapes the next feed, as the profile says, before any run.
    items = load_items("movielens-100k").set_index("item_id")
    complained = set(items.loc["50", "genres"].split("|"))
    status, feed = profiled.post("/recommend", {"user_id": user, "k": 20})
    assert status == 200 and len(feed["items"]) == 20, feed
    assert not [i for i in feed["items"] if set(i["genres"]) & complained], feed["items"]


def test_unknown_users_and_bad_ids_and_keys_are_refused(profiled: ServiceProcess) -> None:
    status, answer = profile(profiled, "profile-nobody-at-all")
    assert status == 404 and answer["error"]["code"] == "not_found"
    assert "unknown user 'profile-nobody-at-all'" in answer["error"]["message"]
    status, answer = profile(profiled, "x" * 300)
    assert status == 400 and "at most 256" in answer["error"]["message"]
    assert profile(profiled, KNOWN, role=None)[0] == 401
    assert profile(profiled, KNOWN, role="events")[0] == 403
    assert profile(profiled, KNOWN, role="triage")[0] == 403


def test_a_user_id_holding_a_slash_gets_its_profile(profiled: ServiceProcess) -> None:
    """Regression: `/events` stored user `a/b` (the id schema allows `/`) but
    `GET /users/a%2Fb/profile` was a 404 "no such route"."""
    user = "profile-slash/a/b"
    post_events(profiled, user, "view", ["50"])
    status, answer = profile(profiled, "profile-slash%2Fa%2Fb")
    assert status == 200, answer
    assert answer["user_id"] == user and answer["known_from"]["events"] == 1
    status, answer = profile(profiled, "profile-slash%2Fnobody")
    assert status == 404 and "unknown user 'profile-slash/nobody'" in answer["error"]["message"]
    assert profile(profiled, "profile-slash%2Fa%2Fb", role="triage")[0] == 403


def test_the_at_risk_segment_keeps_complained_genres_out_of_the_feed(
    profiled: ServiceProcess,
) -> None:
    def feed(user: str) -> list[dict[str, Any]]:
        status, answer = profiled.post("/recommend", {"user_id": user, "k": 20})
        assert status == 200, answer
        return answer["items"]

    # A control user without a segment shows the same complaint keeps only its item out.
    control = "616"
    items = feed(control)
    # the complained-about item: one whose genres other items of the feed share
    complained = next(
        item
        for item in items
        if any(set(item["genres"]) & set(other["genres"]) for other in items if other != item)
    )
    genres = set(complained["genres"])
    assert any(set(i["genres"]) & genres for i in feed(AT_RISK))  # before the complaint
    for user in (control, AT_RISK):
        post_events(profiled, user, "complaint", [complained["item_id"]])
    control_feed = feed(control)
    assert complained["item_id"] not in {i["item_id"] for i in control_feed}
    assert any(set(i["genres"]) & genres for i in control_feed)  # the rule is not everyone's
    ruled = feed(AT_RISK)
    assert len(ruled) == 20
    assert not [i for i in ruled if set(i["genres"]) & genres]
