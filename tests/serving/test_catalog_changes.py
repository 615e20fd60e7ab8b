"""Catalog changes over HTTP, on two replicas of one store: a retired item leaves every feed
path and similar items at once on the replica that stored it, on the other within its refresh
interval, and comes back when restored; an item published after training is served by content
(feeds' fresh share, cold starts, similar items both ways) on both.

Two service processes with their own champion caches share one SQLite store (as replicas share
one PostgreSQL store), each refreshing its retired items every second (the default). The
delays are printed (`-s`); the README quotes them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.launcher import free_port
from tests.serving.conftest import ServiceProcess, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOUND_S = 5.0  # refresh 1 s + one read, with room for a shared, busy machine
K = 10


@pytest.fixture(scope="module")
def replicas(
    champions_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    folder = tmp_path_factory.mktemp("retirement-replicas")
    store = f"sqlite:///{folder / 'store.db'}"
    started: list[ServiceProcess] = []
    try:
        for name in ("a", "b"):
            env = service_env(
                champions_home, AGORA_STORE_URL=store, AGORA_SERVING_CACHE=str(folder / name)
            )
            started.append(ServiceProcess(env, port=free_port()).start())
        yield started[0], started[1]
    finally:
        for service in started:
            service.stop()


def feeds(service: ServiceProcess, user: str) -> dict[str, list[str]]:
    """The feed of every router path, and similar items, as item ids by path name."""
    bodies: dict[str, tuple[str, dict[str, Any], str | None]] = {
        "known user": ("/recommend", {"user_id": "196", "k": K}, "personalized"),
        "folded history": (
            "/recommend",
            {"user_id": "196", "k": K, "recent_items": ["50", "181"]},
            "personalized",
        ),
        "text query": (
            "/recommend",
            {"user_id": user, "k": K, "query": "space adventure with aliens"},
            "cold-start-content",
        ),
        "popular fallback": ("/recommend", {"user_id": user, "k": K}, "popular-fallback"),
        "similar items": ("/similar_items", {"item_id": "172", "k": K}, None),
    }
    found = {}
    for path_name, (route, body, strategy) in bodies.items():
        status, answer = service.post(route, body)
        assert status == 200, (path_name, answer)
        if strategy is not None:
            assert answer["strategy"] == strategy, (path_name, answer["strategy"])
        found[path_name] = [item["item_id"] for item in answer["items"]]
    return found


def served(found: dict[str, list[str]]) -> set[str]:
    return {item for items in found.values() for item in items}


def wait_until(check: Any, bound_s: float = BOUND_S) -> float:
    """Seconds until `check()` holds (polled every 50 ms); fails past `bound_s`."""
    started = time.perf_counter()
    while not check():
        elapsed = time.perf_counter() - started
        assert elapsed < bound_s, f"not within {bound_s} s"
        time.sleep(0.05)
    return time.perf_counter() - started


def test_a_retired_item_leaves_every_path_on_both_replicas_and_comes_back(
    replicas: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = replicas
    user = f"stranger-{uuid.uuid4().hex[:8]}"
    before = feeds(b, user)
    # The leader of each path (and item 50, the folded history's seed, for the similar items).
    retired = sorted({items[0] for items in before.values()} | {"50"})
    # Sent by the platform's backend, with its events key.
    body = {"item_ids": retired, "reason": "takedown T-1"}
    status, answer = a.post("/items/retire", body, role="events")
    assert status == 200, answer
    assert sorted(answer["changed"]) == retired and answer["unchanged"] == []

    # The replica that stored it: at once, every path still k long.
    on_a = feeds(a, user)
    assert not served(on_a) & set(retired)
    assert all(len(items) == K for items in on_a.values()), on_a
    # The other replica: within its refresh interval.
    delay = wait_until(lambda: not served(feeds(b, user)) & set(retired))
    print(f"\nretirement stored on A reached B's feeds after {delay:.2f} s")
    on_b = feeds(b, user)
    assert all(len(items) == K for items in on_b.values()), on_b
    for path_name, items in on_b.items():
        # The same ranking with the retired items left out, refilled from below.
        kept = [item for item in before[path_name] if item not in retired]
        assert items[: len(kept)] == kept, path_name
    # A retired seed still answers its alternatives (none of them retired).
    status, similar = b.post("/similar_items", {"item_id": "50", "k": K})
    assert status == 200 and not {i["item_id"] for i in similar["items"]} & set(retired)

    # Either replica lists them, paged, with the reason and the key that retired them.
    status, page = b.get("/items/retired?limit=1", role="admin")
    assert status == 200 and page["next_after"] is not None, page
    first = page["items"][0]
    assert (first["reason"], first["changed_by"]) == ("takedown T-1", "events-local")
    status, rest = b.get(f"/items/retired?after={page['next_after']}", role="events")
    assert status == 200 and rest["next_after"] is None
    assert sorted([first["item_id"]] + [i["item_id"] for i in rest["items"]]) == retired
    assert b.get("/items/retired?limit=0", role="admin")[0] == 400
    assert b.get("/items/retired", role="read")[0] == 403

    status, answer = b.post("/items/restore", {"item_ids": retired})
    assert status == 200 and sorted(answer["changed"]) == retired, answer
    assert feeds(b, user) == before
    assert b.get("/items/retired", role="admin")[1]["items"] == []
    delay = wait_until(lambda: feeds(a, user) == before)
    print(f"restoration stored on B reached A's feeds after {delay:.2f} s")


def test_only_the_platform_and_operators_may_retire(
    replicas: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, _ = replicas
    for role, expected in (("read", 403), ("agent", 403), ("events", 200), ("admin", 200)):
        status, answer = a.post("/items/restore", {"item_ids": ["no-such-item"]}, role=role)
        assert status == expected, (role, answer)
    status, answer = a.post("/items/retire", {"item_ids": []}, role="events")
    assert status == 400 and "item_ids" in answer["error"]["message"]
    status, answer = a.post("/items/retire", {"item_ids": ["1"], "reason": "x" * 201})
    assert status == 400 and "reason" in answer["error"]["message"]


STAR_WARS_LIKE = {
    "item_id": "fresh-starfall",
    "title": "Starfall: The Last Rebellion (2026)",
    "text": "A rebel pilot and a droid fight an evil galactic empire across distant planets.",
    "genres": ["Sci-Fi", "Action", "Adventure"],
}


def test_a_published_item_is_served_by_content_on_both_replicas(
    replicas: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, b = replicas
    fan = {"user_id": f"fan-{uuid.uuid4().hex[:8]}", "k": K, "recent_items": ["50", "172"]}
    status, answer = a.post("/items", {"items": [STAR_WARS_LIKE]}, role="events")
    assert status == 200 and answer["stored"] == ["fresh-starfall"], answer
    new = STAR_WARS_LIKE["item_id"]

    def fresh_in(service: ServiceProcess, route: str, body: dict[str, Any]) -> list[dict]:
        status, answer = service.post(route, body)
        assert status == 200, answer
        return [item for item in answer["items"] if item["fresh"]]

    # The replica that stored it at once, the other within its refresh interval.
    assert [i["item_id"] for i in fresh_in(a, "/recommend", fan)] == [new]
    delay = wait_until(lambda: bool(fresh_in(b, "/recommend", fan)))
    print(f"\npublication stored on A reached B's feeds after {delay:.2f} s")
    status, feed = b.post("/recommend", fan)
    assert len(feed["items"]) == K and feed["strategy"] == "personalized"
    fresh = next(item for item in feed["items"] if item["fresh"])
    assert fresh["title"] == STAR_WARS_LIKE["title"] and "Sci-Fi" in fresh["genres"]
    assert len(fresh_in(b, "/recommend", {**fan, "k": 4})) == 0  # no fresh share below k = 5
    # A text query and a stranger (the newest published items) get it too.
    query = {"user_id": "q-stranger", "k": K, "query": "rebels against a galactic empire"}
    assert [i["item_id"] for i in fresh_in(b, "/recommend", query)] == [new]
    assert new in [i["item_id"] for i in fresh_in(b, "/recommend", {"user_id": "s-1", "k": K})]
    # A history of it alone is a content cold start: the Star Wars films lead.
    status, cold = b.post("/recommend", {"user_id": "s-2", "k": K, "recent_items": [new]})
    assert status == 200 and cold["strategy"] == "cold-start-content"
    assert {"50", "172"} & {item["item_id"] for item in cold["items"][:3]}
    # Similar items both ways.
    status, similar = b.post("/similar_items", {"item_id": new, "k": 5})
    assert status == 200 and {"50", "172"} & {i["item_id"] for i in similar["items"]}
    assert [i["item_id"] for i in fresh_in(b, "/similar_items", {"item_id": "50", "k": K})] == [new]
    # Retiring it takes it out like any item.
    assert b.post("/items/retire", {"item_ids": [new]}, role="events")[0] == 200
    wait_until(lambda: not fresh_in(a, "/recommend", fan))
    assert b.post("/items/restore", {"item_ids": [new]}, role="events")[0] == 200


def test_publishing_refuses_what_it_cannot_store(
    replicas: tuple[ServiceProcess, ServiceProcess],
) -> None:
    a, _ = replicas
    item = {"item_id": "p-1", "title": "A title"}
    for body, field_name in (
        ({"items": []}, "items"),
        ({"items": [{**item, "title": ""}]}, "title"),
        ({"items": [{**item, "text": "x" * 2001}]}, "text"),
        ({"items": [{**item, "genres": ["a|b"]}]}, "genres"),
        ({"items": [{**item, "text": "bell\u0007"}]}, "text"),
        ({"items": [item] * 101}, "items"),
    ):
        status, answer = a.post("/items", body, role="events")
        assert status == 400 and field_name in answer["error"]["message"], (body, answer)
    assert a.post("/items", {"items": [item]}, role="read")[0] == 403
