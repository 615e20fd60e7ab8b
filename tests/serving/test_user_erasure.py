"""`DELETE /users/{user_id}` as an operator calls it: only an admin key erases; the customer's
profile, their message on the desk and their resolved case in `/triage`'s similar_cases are gone
afterwards; erasing again, or a user never seen, is a 200 with zeros."""

from __future__ import annotations

import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.conftest import ServiceProcess, service_env

pytestmark = pytest.mark.integration

REFRESH_S = 0.5  # the knowledge base's refresh interval in this module's service
# The first Latin-script case makes the encoder (torch): 4 min on a busy 2-core machine.
FIRST_CASE_WAIT_S = 600.0
FORGET_WAIT_S = 10 * REFRESH_S  # "within a few refresh intervals", with room for a slow machine
CASE = "My checked bag never arrived in Denver and nobody at the desk can tell me where it is."
OTHER = "My checked bag never arrived in Boston and nobody can tell me where my luggage is."
SIMILAR = "my checked bag did not arrive at the Denver baggage claim, where is my luggage?"
ZEROS = {"events": 0, "triage_records": 0, "corrections": 0, "resolutions": 0, "user_segments": 0}


@pytest.fixture(scope="module")
def desk(
    champions_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """A service with a store of its own (its queue holds this module's cases only) whose
    knowledge base refreshes every REFRESH_S."""
    store = tmp_path_factory.mktemp("erasure") / "store.db"
    env = service_env(
        champions_home, AGORA_STORE_URL=f"sqlite:///{store}", AGORA_KB_REFRESH_S=str(REFRESH_S)
    )
    running = ServiceProcess(env).start()
    yield running
    running.stop()


def _path(user: str, suffix: str = "") -> str:
    return f"/users/{urllib.parse.quote(user, safe='')}{suffix}"


def _delete(service: ServiceProcess, path: str, role: str | None = "admin") -> tuple[int, dict]:
    status, answer, _ = service.request("DELETE", path, None, role)
    return status, answer


def _resolved_case(service: ServiceProcess, text: str, customer: str) -> str:
    status, triaged = service.post("/triage", {"text": text, "customer_id": customer})
    assert status == 200 and triaged["triage_id"], triaged
    triage_id = str(triaged["triage_id"])
    body = {"triage_id": triage_id, "resolution": "Couriered the bag.", "outcome": "resolved"}
    status, stored = service.post("/resolutions", body)
    assert status == 200, stored
    return triage_id


def _similar_ids(service: ServiceProcess) -> set[str]:
    status, answer = service.post("/triage", {"text": SIMILAR})
    assert status == 200, answer
    return {case["triage_id"] for case in answer["similar_cases"]}


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return bool(condition())  # type: ignore[operator]


def _queued(service: ServiceProcess) -> set[str]:
    status, page = service.get("/desk/queue?status=all&limit=200", role="agent")
    assert status == 200, page
    return {case["triage_id"] for case in page["cases"]}


def test_an_admin_erases_a_customer_and_every_view_of_them_forgets_them(
    desk: ServiceProcess,
) -> None:
    user = f"erase/{uuid.uuid4().hex[:8]}"  # an id holding `/`, sent as %2F
    events = [
        {"event_id": uuid.uuid4().hex, "user_id": user, "item_id": item, "type": "view"}
        for item in ("50", "181")
    ]
    status, answer = desk.post("/events", {"events": events})
    assert status == 200, answer
    erased_case = _resolved_case(desk, CASE, user)
    kept_case = _resolved_case(desk, OTHER, f"keep-{uuid.uuid4().hex[:8]}")
    assert _wait_for(lambda: erased_case in _similar_ids(desk), FIRST_CASE_WAIT_S)
    assert {erased_case, kept_case} <= _queued(desk)
    status, profile = desk.get(_path(user, "/profile"), role="read")
    assert status == 200 and profile["known_from"]["events"] == 2, profile

    # Only an admin key erases, whichever way the path reads.
    assert _delete(desk, _path(user), role=None)[0] == 401
    for role in ("read", "agent", "events", "triage"):
        status, refused = _delete(desk, _path(user), role=role)
        assert status == 403 and "admin" in refused["error"]["message"], (role, refused)
    # `/users/x/profile` is also "the user x/profile": the profile route's roles must not
    # let a read key erase that user.
    status, refused = _delete(desk, _path(user) + "/profile", role="read")
    assert status == 403, refused

    status, answer = _delete(desk, _path(user))
    assert status == 200, answer
    assert answer == {
        "user_id": user,
        "erased": {**ZEROS, "events": 2, "triage_records": 1, "resolutions": 1},
    }
    assert desk.get(_path(user, "/profile"), role="read")[0] == 404  # nothing known of them
    queued = _queued(desk)
    assert erased_case not in queued and kept_case in queued
    assert _wait_for(lambda: erased_case not in _similar_ids(desk), FORGET_WAIT_S)
    assert kept_case in _similar_ids(desk)

    # Again, or a user never seen: 200 with zeros (the caller cannot know what we held).
    assert _delete(desk, _path(user)) == (200, {"user_id": user, "erased": ZEROS})
    assert _delete(desk, _path("never-seen")) == (200, {"user_id": "never-seen", "erased": ZEROS})


def test_a_malformed_id_is_a_400_and_a_get_is_not_an_erasure(desk: ServiceProcess) -> None:
    status, answer = _delete(desk, _path(" padded"))
    assert status == 400 and "user_id" in answer["error"]["message"], answer
    status, answer = desk.get(_path("someone"), role="admin")
    assert status == 405, answer


def test_an_erased_user_is_a_stranger_to_the_champion_until_it_is_retrained(
    desk: ServiceProcess,
) -> None:
    """Regression: after `DELETE /users/196` the MovieLens champion, fitted on 196's ratings,
    kept personalising their feed and their profile said `in_model: true`."""
    status, feed = desk.post("/recommend", {"user_id": "196", "k": 5})
    assert status == 200 and feed["strategy"] == "personalized", feed
    status, profile = desk.get(_path("196", "/profile"), role="read")
    assert status == 200 and profile["known_from"]["in_model"], profile
    assert _delete(desk, _path("196"))[0] == 200
    status, feed = desk.post("/recommend", {"user_id": "196", "k": 5})
    assert status == 200 and feed["strategy"] == "popular-fallback", feed
    assert desk.get(_path("196", "/profile"), role="read")[0] == 404  # nothing knows them
    # What they do after the erasure shapes their feed as a newcomer's recent items do.
    recent = {"k": 5, "recent_items": ["50", "181"]}
    status, feed = desk.post("/recommend", {"user_id": "196", **recent})
    status_new, newcomer = desk.post("/recommend", {"user_id": f"new-{uuid.uuid4().hex}", **recent})
    assert status == status_new == 200 and feed["items"] == newcomer["items"], (feed, newcomer)
    status, other = desk.post("/recommend", {"user_id": "186", "k": 5})
    assert status == 200 and other["strategy"] == "personalized", other
