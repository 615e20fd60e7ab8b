"""Acknowledged events survive the server being SIGKILLed mid-stream; retries insert nothing twice.

A client posts 5,000 events in batches of 50 (unique event_ids) while the whole server (the
`bentoml serve` process group and its workers) is killed with SIGKILL twice, as a batch is
being sent after about a third and two thirds of the stream, and restarted on the same port.
The client retries a batch whose request failed, as a real client would. The store is then
read directly.

What this shows: the service answers 200 only after the transaction committed, and the
event_id key makes a retried batch insert nothing twice. SIGKILL leaves the OS page cache
intact, so power loss (what synchronous=FULL is for) is not simulated here.
"""

from __future__ import annotations

import http.client
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from data.store import Store
from tests.postgres import postgres_url
from tests.serving.conftest import ServiceProcess, service_env

logger = logging.getLogger(__name__)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL_EVENTS = 5_000
BATCH_SIZE = 50
BATCHES = TOTAL_EVENTS // BATCH_SIZE
KILL_AT_BATCHES = (BATCHES // 3, 2 * BATCHES // 3)
TYPES = ("view", "click", "like", "share", "rating")
RETRY_FOR_S = 60.0  # how long the client keeps retrying one batch


def make_batches() -> list[list[dict[str, Any]]]:
    events = [
        {
            "event_id": f"durability-{number:05d}",
            "user_id": f"u{number % 97}",
            "item_id": str(1 + number % 1682),
            "type": TYPES[number % len(TYPES)],
            "timestamp": 1_700_000_000 + number,
        }
        for number in range(TOTAL_EVENTS)
    ]
    return [events[start : start + BATCH_SIZE] for start in range(0, TOTAL_EVENTS, BATCH_SIZE)]


@dataclass
class RetryingClient:
    """Posts the batches in order; retries one until it is acknowledged with a 200.

    Connection errors and 5xx answers (the server is down or restarting) are retried after a
    short pause; any other answer fails the run. `sending` is set while the batch numbered
    `announce_at` is on the wire, so the test can kill the server at that moment.
    """

    server: ServiceProcess  # only its port is used: restarts listen on the same one
    batches: list[list[dict[str, Any]]]
    acknowledged: dict[int, dict[str, int]] = field(default_factory=dict)
    attempts: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    error: BaseException | None = None
    announce_at: set[int] = field(default_factory=set)
    sending: dict[int, threading.Event] = field(init=False)

    def __post_init__(self) -> None:
        self.sending = {number: threading.Event() for number in self.announce_at}

    def run(self) -> None:
        try:
            for number, batch in enumerate(self.batches):
                self._send_until_acknowledged(number, batch)
        except BaseException as error:  # surfaced by the test thread
            self.error = error

    def _send_until_acknowledged(self, number: int, batch: list[dict[str, Any]]) -> None:
        give_up_at = time.monotonic() + RETRY_FOR_S
        while True:
            self.attempts[number] += 1
            if number in self.sending:
                self.sending[number].set()
            try:
                status, answer = self.server.post("/events", {"events": batch})
            except (OSError, http.client.HTTPException) as error:  # refused, reset, cut off
                self.failures.append(f"batch {number}: {type(error).__name__}")
            else:
                if status == 200:
                    self.acknowledged[number] = answer
                    return
                if status < 500:
                    raise AssertionError(f"batch {number} refused with {status}: {answer}")
                self.failures.append(f"batch {number}: HTTP {status}")
            if time.monotonic() > give_up_at:
                raise TimeoutError(f"batch {number} not acknowledged in {RETRY_FOR_S:.0f} s")
            time.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The event store the killed service writes to: a file, or a PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'durability.db'}"
    else:
        yield from postgres_url()


def test_acknowledged_events_survive_sigkill_and_retries_insert_once(
    champions_home: Path, store_url: str
) -> None:
    env = service_env(champions_home, AGORA_STORE_URL=store_url)
    server = ServiceProcess(env).start()
    batches = make_batches()
    client = RetryingClient(server, batches, announce_at=set(KILL_AT_BATCHES))
    sender = threading.Thread(target=client.run, name="event-client", daemon=True)
    kills = 0
    try:
        sender.start()
        for batch_number in KILL_AT_BATCHES:
            if not client.sending[batch_number].wait(timeout=120):
                raise TimeoutError(f"batch {batch_number} never sent; client error: {client.error}")
            time.sleep(0.005)  # let the request reach the server, mid-write if possible
            server.stop(signal.SIGKILL)
            kills += 1
            server = ServiceProcess(env, port=server.port).start()
        sender.join(timeout=180)
        assert not sender.is_alive(), "the client did not finish"
        if client.error is not None:
            raise client.error
    finally:
        server.stop()

    retried = {n: a for n, a in client.acknowledged.items() if client.attempts[n] > 1}
    logger.info(
        "%d kills; failed requests: %s; retried batches (answer): %s",
        kills,
        Counter(failure.split(": ", 1)[1] for failure in client.failures),
        retried,
    )
    store = Store(store_url)
    stored = store.events.frame()
    store.engine.dispose()
    stored_ids = stored["event_id"].tolist()
    sent = {e["event_id"]: (e["user_id"], e["item_id"], e["type"]) for b in batches for e in b}
    # No event twice, every acknowledged event present, and with the retries all of them.
    assert len(stored_ids) == len(set(stored_ids)) == TOTAL_EVENTS
    acknowledged_ids = {e["event_id"] for n in client.acknowledged for e in batches[n]}
    assert len(client.acknowledged) == BATCHES
    assert acknowledged_ids == set(stored_ids) == set(sent)
    # What was stored is what was sent.
    rows = zip(
        stored["event_id"], stored["user_id"], stored["item_id"], stored["type"], strict=True
    )
    assert {event_id: (user, item, kind) for event_id, user, item, kind in rows} == sent
    # Each answer accounts for its whole batch; only a retried batch may find duplicates.
    for number, answer in client.acknowledged.items():
        assert answer["accepted"] + answer["duplicates"] == BATCH_SIZE, (number, answer)
        if client.attempts[number] == 1:
            assert answer["duplicates"] == 0, (number, answer)
    # Each kill made the client see at least one failed request and retry.
    assert kills == len(KILL_AT_BATCHES)
    assert len(client.failures) >= kills, client.failures
