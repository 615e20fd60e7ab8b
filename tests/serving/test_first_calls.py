"""Ready means warm: the first call of each route after `/readyz` says 200 is as fast as later ones.

Heavy loading happens at start-up, once (STYLE.md): a model part loaded on first use makes the
first client of each worker wait for it and stalls every request the worker holds meanwhile.
Each test starts its own server, so its calls are the worker's first.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import ServiceProcess, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A first call is a load, not a request, when it is both slower than this (later calls of these
# routes take 2-60 ms on a quiet machine; the loads these tests guard against took 1.5-2.3 s) and
# this many times slower than the same call repeated at once. The ratio keeps a busy machine
# (a CI run training models on the same two cores made a warm query feed take 0.57 s) from
# passing for a load: contention slows the repeats as much as the first call. It cannot when the
# contention is a burst that ends before the repeats (a CI run: a first query feed and a plain
# feed both took 0.49-0.51 s, the repeats 68 ms; the same calls take 36 and 11 ms here), so the
# limit stays above such bursts and below the smallest load guarded against.
FIRST_CALL_LIMIT_S = 1.0
LOAD_FACTOR = 5.0
STEADY_REPEATS = 3
QUERY_FEED = {"user_id": "cq0", "k": 3, "query": "space robots"}
PLAIN_FEED = {"user_id": "196", "k": 3}
VIEW = {"event_id": "first-calls-1", "user_id": "196", "item_id": "50", "type": "view"}
COMPLAINT_EN = "My checked bag never arrived in Denver and nobody can tell me where it is."
COMPLAINT_ZH = "航班取消了，行李也丢了，客服一直不回复。"
# (method, path, body) in the order a fresh worker meets them; each route's first call.
FIRST_CALLS: tuple[tuple[str, str, Any], ...] = (
    ("POST", "/similar_items", {"item_id": "50", "k": 3}),
    ("POST", "/triage", {"text": COMPLAINT_EN, "language": "en"}),
    ("POST", "/triage", {"text": COMPLAINT_ZH, "language": "zh"}),
    ("POST", "/triage", {"text": "Le vol a deux heures de retard, c'est inacceptable."}),
    ("POST", "/triage_batch", {"texts": [COMPLAINT_EN, "great crew, thanks!"]}),
    ("POST", "/triage", {"text": COMPLAINT_EN, "customer_id": "first-calls-1"}),
    ("POST", "/events", {"events": [VIEW]}),
    ("GET", "/users/196/profile", None),
    ("GET", "/analytics/complaints?since=7d", None),
    ("GET", "/desk/queue", None),
    ("GET", "/model_info", None),
)


@pytest.fixture
def fresh_service(champions_home: Path, tmp_path: Path) -> Iterator[ServiceProcess]:
    """A server just started (readyz 200), with its own empty event store."""
    env = service_env(champions_home, AGORA_STORE_URL=f"sqlite:///{tmp_path / 'events.db'}")
    running = ServiceProcess(env, log_path=tmp_path / "service.log").start()
    yield running
    running.stop()


def _timed(service: ServiceProcess, method: str, path: str, body: Any) -> float:
    """Seconds one call took (it must succeed)."""
    raw = None if body is None else json.dumps(body).encode()
    start = time.perf_counter()
    status, answer, _ = service.request(method, path, raw)
    elapsed = time.perf_counter() - start
    assert status == 200, (path, answer)
    return elapsed


def _steady(service: ServiceProcess, method: str, path: str, body: Any) -> float:
    """The median seconds of the same call repeated now, the worker warm."""
    return statistics.median(_timed(service, method, path, body) for _ in range(STEADY_REPEATS))


def _a_load(first: float, steady: float) -> bool:
    return first >= FIRST_CALL_LIMIT_S and first >= LOAD_FACTOR * steady


def test_the_first_query_feed_and_a_concurrent_feed_are_not_held_by_a_lazy_encoder(
    fresh_service: ServiceProcess,
) -> None:
    # Regression: the first text-query feed of a worker loaded MiniLM (2.3 s) after readyz said
    # ready, and a plain feed arriving meanwhile waited as long.
    timings: dict[str, float] = {}

    def plain() -> None:
        time.sleep(0.05)  # arrives while the query feed is being answered
        timings["plain"] = _timed(fresh_service, "POST", "/recommend", PLAIN_FEED)

    other = threading.Thread(target=plain)
    other.start()
    timings["query"] = _timed(fresh_service, "POST", "/recommend", QUERY_FEED)
    other.join()
    steady = _steady(fresh_service, "POST", "/recommend", QUERY_FEED)
    print(f"first calls: {timings}, the query feed repeated: {steady:.3f} s")
    assert not any(_a_load(seconds, steady) for seconds in timings.values()), (timings, steady)


def test_the_first_call_of_each_route_is_not_a_load(fresh_service: ServiceProcess) -> None:
    # Regression: parts loaded on a route's first use after readyz (see FIRST_CALLS).
    timings = {
        f"{number}. {method} {path} {json.dumps(body)[:50] if body else ''}": _timed(
            fresh_service, method, path, body
        )
        for number, (method, path, body) in enumerate(FIRST_CALLS, 1)
    }
    # Repeated after all first calls, so no repeat warms a route before its first call.
    steady = {
        call: _steady(fresh_service, method, path, body)
        for call, (method, path, body) in zip(timings, FIRST_CALLS, strict=True)
    }
    rows = (f"  {t * 1000:8.1f} {steady[k] * 1000:8.1f} ms  {k}" for k, t in timings.items())
    print("first calls, then repeated:\n" + "\n".join(rows))
    slow = {call: (t, steady[call]) for call, t in timings.items() if _a_load(t, steady[call])}
    assert not slow, slow


def test_feeds_are_answered_while_a_reload_loads(fresh_service: ServiceProcess) -> None:
    # Regression (a client trial): /admin/reload loaded the champions on the worker's one API
    # thread, so every feed sent meanwhile waited for the whole load (about 1.5 s).
    finished: dict[str, float] = {}

    def reload() -> None:
        status, answer, _ = fresh_service.request("POST", "/admin/reload", b"{}")
        assert status == 200, answer
        finished["reload"] = time.perf_counter()

    reloading = threading.Thread(target=reload)
    reloading.start()
    time.sleep(0.1)  # the reload is loading
    feeds = []
    while reloading.is_alive() and len(feeds) < 50:
        _timed(fresh_service, "POST", "/recommend", PLAIN_FEED)
        feeds.append(time.perf_counter())
    reloading.join()
    print(f"feeds answered during the reload: {sum(t < finished['reload'] for t in feeds)}")
    assert feeds and feeds[0] < finished["reload"], "the first feed waited for the reload"


def test_feeds_are_answered_while_published_items_are_embedded(
    fresh_service: ServiceProcess,
) -> None:
    # Regression (a contract fuzz): POST /items embedded its items on the worker's one API
    # thread, so a feed sent meanwhile waited for the whole embedding (100 long texts: a feed
    # timed out at 30 s on a busy host, the next took 6.3 s).
    items = [
        {"item_id": f"long-{n}", "title": f"Long story {n}", "text": f"w{n} " * 400}
        for n in range(100)
    ]
    finished: dict[str, float] = {}

    def publish() -> None:
        body = json.dumps({"items": items}).encode()
        status, answer, _ = fresh_service.request("POST", "/items", body, timeout=120)
        assert status == 200, answer
        finished["publish"] = time.perf_counter()

    publishing = threading.Thread(target=publish)
    publishing.start()
    time.sleep(0.2)  # the items are being embedded
    feeds = []
    while publishing.is_alive() and len(feeds) < 50:
        _timed(fresh_service, "POST", "/recommend", PLAIN_FEED)
        feeds.append(time.perf_counter())
    publishing.join()
    print(f"feeds answered during the publication: {sum(t < finished['publish'] for t in feeds)}")
    assert feeds and feeds[0] < finished["publish"], "the first feed waited for the embedding"
