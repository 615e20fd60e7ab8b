"""The analysis over a real (SQLite) store: a spike alerts once however often it is analysed,
again only after the group went back to normal; alerts reach a webhook, and a dead webhook
costs nothing but a log line."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cli.launcher import free_port
from data.store import Store
from models.analytics import spikes
from models.analytics.spikes import SpikeConfig
from serving.complaint_analysis import (
    AlertWebhook,
    AnalysisSettings,
    analyse,
    start_periodic_analysis,
)

HOUR = 3600.0
T0 = 1_424_131_200.0  # 2015-02-17 00:00 UTC
SETTINGS = AnalysisSettings(spikes=SpikeConfig(window_s=HOUR, baseline_windows=24))


def _fill(store: Store, hour: int, lost: int, late: int = 10) -> None:
    """One hour of complaints: `late` about item A, `lost` about item B."""
    for reason, item, n in (("late", "A", late), ("lost", "B", lost)):
        for k in range(n):
            store.triage.record(
                f"{reason} again",
                {"sentiment": {"label": "negative"}, "reason": {"label": reason}},
                {},
                "en",
                True,
                customer_id=f"c{hour}-{reason}-{k}",
                item_id=item,
                occurred_at=T0 + hour * HOUR + k,
            )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'store.db'}")
    for hour in range(24):
        _fill(opened, hour, lost=2)
    yield opened
    opened.engine.dispose()


def _end_of(hour: int) -> float:
    return T0 + (hour + 1) * HOUR


def test_a_spike_alerts_once_while_it_lasts_and_again_after_normal(store: Store) -> None:
    _fill(store, 24, lost=20)  # spike starts
    first = analyse(store, _end_of(24), SETTINGS)
    raised = {(a["dimension"], a["group"]) for a in first["raised"]}
    assert ("reason", "lost") in raised and ("item", "B") in raised
    alert = next(a for a in first["raised"] if a["dimension"] == "reason")
    assert (alert["count"], alert["volume"]) == (20, 30)
    assert (alert["baseline_count"], alert["baseline_volume"]) == (48, 288)
    assert alert["p_adjusted"] < 0.01 and "test_poisson_2indep" in alert["test"]
    assert alert["dispersion"] == 1.0  # a flat baseline: the Poisson test
    # The same window analysed again (another worker, a re-run): nothing new.
    assert analyse(store, _end_of(24), SETTINGS)["raised"] == []
    # The spike continues into the next window: still flagged, same episode, no new alert.
    _fill(store, 25, lost=20)
    second = analyse(store, _end_of(25), SETTINGS)
    assert ("reason", "lost") in {(s["dimension"], s["group"]) for s in second["spikes"]}
    assert second["raised"] == []
    # Back to normal for a few windows, then a new spike: a new alert.
    for hour in range(26, 30):
        _fill(store, hour, lost=2)
        assert analyse(store, _end_of(hour), SETTINGS)["spikes"] == []
    _fill(store, 30, lost=40)
    third = analyse(store, _end_of(30), SETTINGS)
    assert ("reason", "lost") in {(a["dimension"], a["group"]) for a in third["raised"]}
    stored = [a for a in store.alerts.between(T0, _end_of(30)) if a.dimension == "reason"]
    assert [a.window_start for a in stored] == [T0 + 24 * HOUR, T0 + 30 * HOUR]


def test_a_flat_stream_raises_nothing(store: Store) -> None:
    _fill(store, 24, lost=3)
    assert analyse(store, _end_of(24), SETTINGS)["raised"] == []


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, Any], dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        _Receiver.received.append((json.loads(body), dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_alerts_are_posted_to_the_webhook_signed(store: Store, receiver: str) -> None:
    _fill(store, 24, lost=20)
    webhook = AlertWebhook(receiver, secret="s3cret")
    raised = analyse(store, _end_of(24), SETTINGS, webhook=webhook)["raised"]
    assert raised and len(_Receiver.received) == len(raised)
    payload, headers, body = _Receiver.received[0]
    assert payload["key"] == raised[0]["key"] and "p_value" in payload
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert {k.lower(): v for k, v in headers.items()}["x-agora-signature"] == f"sha256={expected}"


def test_a_dead_webhook_is_logged_and_the_alert_still_stored(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(store, 24, lost=20)
    dead = AlertWebhook(f"http://127.0.0.1:{free_port()}/hook?token=secret", timeout=1.0)
    raised = analyse(store, _end_of(24), SETTINGS, webhook=dead)["raised"]
    assert raised
    assert len(store.alerts.between(T0, _end_of(24))) == len(raised)
    failures = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert len(failures) == len(raised)
    assert all("secret" not in message for message in failures)


class _Refusing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_refusing_webhook_logs_neither_its_path_nor_its_query_token(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # Regression: a 4xx answer was logged with httpx's message, which quotes the whole URL.
    server = HTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _fill(store, 24, lost=20)
        url = f"http://127.0.0.1:{server.server_port}/services/T0/B0/pathsecret?token=qsecret"
        raised = analyse(store, _end_of(24), SETTINGS, webhook=AlertWebhook(url))["raised"]
    finally:
        server.shutdown()
        server.server_close()
    failures = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert raised and len(failures) == len(raised)
    assert all("answered 404" in message for message in failures)
    assert not [m for m in failures if "pathsecret" in m or "qsecret" in m]


def test_the_periodic_analysis_runs_on_its_interval_and_is_off_at_zero(store: Store) -> None:
    _fill(store, 24, lost=20)
    assert start_periodic_analysis(store, SETTINGS) is None  # interval 0: off
    every = AnalysisSettings(interval_s=0.05, spikes=SETTINGS.spikes)
    stop = threading.Event()
    thread = start_periodic_analysis(store, every, clock=lambda: _end_of(24) + 5, stop=stop)
    deadline = time.monotonic() + 10
    while not store.alerts.between(T0, _end_of(24)) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive()
    assert {a.group_value for a in store.alerts.between(T0, _end_of(24))} >= {"lost", "B"}


def test_an_episode_longer_than_the_lookback_still_alerts_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bookkeeping, with the dispersion held at 1: estimated from a baseline holding the
    # spike, it absorbs a spike held at one level after its first window (tests/models).
    monkeypatch.setattr(spikes, "baseline_dispersion", lambda counts, totals: 1.0)
    short = AnalysisSettings(spikes=SpikeConfig(window_s=HOUR, lookback_windows=1))
    raised, flagged = [], []
    for hour in (24, 25, 26):
        _fill(store, hour, lost=40)
        result = analyse(store, _end_of(hour), short, dimensions=("reason",))
        raised += result["raised"]
        flagged.append([s["episode_start"] for s in result["spikes"]])
    assert flagged == [[T0 + 24 * HOUR]] * 3  # flagged in all three, one episode
    assert len(raised) == 1
