"""Agora's own metrics on `/metrics`, read as Prometheus scrapes them, after real client calls.

Each test reads `/metrics` before and after calls a client makes and checks the change: one
triaged message adds exactly one to its queue's series, stored corrections, resolutions and
events are counted, the served versions are listed per slot. A server of this module's own runs
two workers, so the counters are checked summed over both (BentoML's multiprocess collection),
and is then broken on purpose: shed requests, a failed reload, registry polls that fail.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serving.conftest import ServiceProcess, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Series = frozenset[tuple[str, str]]
COMPLAINT = "My checked bag never arrived in Denver and nobody answers my calls. Terrible."


def _scrape(service: ServiceProcess) -> dict[str, dict[Series, float]]:
    """Every sample of `/metrics` (fetched without a key, as Prometheus does): name -> labels ->
    value."""
    status, text = service.get("/metrics", role=None)
    assert status == 200, text
    samples: dict[str, dict[Series, float]] = {}
    for family in text_string_to_metric_families(str(text)):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def _value(samples: dict[str, dict[Series, float]], name: str, **labels: str) -> float:
    """The sample of `name` with exactly `labels` (0 when absent: a series not made yet)."""
    return samples.get(name, {}).get(frozenset(labels.items()), 0.0)


def _total(samples: dict[str, dict[Series, float]], name: str) -> float:
    return sum(samples.get(name, {}).values())


def _served(samples: dict[str, dict[Series, float]]) -> dict[str, tuple[str, str, str]]:
    """slot -> (registered model, version, source) of the info series at 1."""
    return {
        dict(labels)["slot"]: (
            dict(labels)["registered_model"],
            dict(labels)["version"],
            dict(labels)["source"],
        )
        for labels, value in samples.get("agora_served_model_info", {}).items()
        if value == 1
    }


def _triage(service: ServiceProcess, text: str, customer: str) -> dict[str, Any]:
    status, answer = service.post("/triage", {"text": text, "customer_id": customer})
    assert status == 200, answer
    return dict(answer)


def _labels_of(answer: dict[str, Any]) -> dict[str, str]:
    result = answer["result"]
    return {
        "queue": result["routing"]["queue"],
        "urgency": result["urgency"]["level"],
        "sentiment": result["sentiment"]["label"],
        "language": result["language"]["code"],
    }


# -- the session's shared server ----------------------------------------------------------------


def test_one_triage_adds_exactly_one_to_its_queue_urgency_sentiment_and_language(
    service: ServiceProcess,
) -> None:
    before = _scrape(service)
    answer = _triage(service, COMPLAINT, "metrics-c1")
    after = _scrape(service)
    labels = _labels_of(answer)
    name = "agora_triaged_messages_total"
    assert _value(after, name, **labels) - _value(before, name, **labels) == 1, labels
    assert _total(after, name) - _total(before, name) == 1  # and no other series moved
    result = answer["result"]
    assert result["complaint"]["is_complaint"], result  # the text is one: its reason is counted
    reason = result["reason"]["label"]
    complaints = "agora_triaged_complaints_total"
    assert _value(after, complaints, reason=reason) - _value(before, complaints, reason=reason) == 1
    # Nothing of the request is a label: not the customer, not the text.
    _, text = service.get("/metrics", role=None)
    assert "metrics-c1" not in str(text) and "Denver" not in str(text)


def test_praise_is_counted_under_its_own_labels_and_not_as_a_complaint(
    service: ServiceProcess,
) -> None:
    before = _scrape(service)
    answer = _triage(service, "Thank you, the crew was wonderful and kind!", "metrics-c2")
    after = _scrape(service)
    labels = _labels_of(answer)
    name = "agora_triaged_messages_total"
    assert not answer["result"]["complaint"]["is_complaint"], answer
    assert _value(after, name, **labels) - _value(before, name, **labels) == 1, labels
    complaints = "agora_triaged_complaints_total"
    assert _total(after, complaints) == _total(before, complaints)


def test_each_slot_lists_the_version_model_info_says_it_serves(service: ServiceProcess) -> None:
    status, info = service.get("/model_info")
    assert status == 200, info
    expected = {
        slot: (model["name"], model["version"], model["source"])
        for slot, model in info["models"].items()
    }
    samples = _scrape(service)
    assert expected and _served(samples) == expected
    assert _value(samples, "agora_served_model_problems") == len(info["problems"])
    assert _value(samples, "agora_registry_last_reached_timestamp_seconds") > 0


def test_stored_events_corrections_and_resolutions_are_counted(service: ServiceProcess) -> None:
    before = _scrape(service)
    view = {"event_id": "metrics-e1", "user_id": "metrics-u1", "item_id": "50", "type": "view"}
    like = {**view, "event_id": "metrics-e2", "type": "like"}
    assert service.post("/events", {"events": [view, like, view]}) == (
        200,
        {"accepted": 2, "duplicates": 1},
    )
    assert service.post("/events", {"events": [like]})[0] == 200  # a retry: a duplicate
    triage_id = _triage(service, COMPLAINT, "metrics-c3")["triage_id"]
    correction = {"triage_id": triage_id, "field": "urgency", "correct_label": "critical"}
    assert service.post("/corrections", correction)[0] == 200
    resolution = {
        "triage_id": triage_id,
        "resolution": "Found the bag and sent it by courier.",
        "outcome": "resolved",
        "resolution_id": "metrics-r1",
    }
    assert service.post("/resolutions", resolution) == (
        200,
        {"resolution_id": "metrics-r1", "stored": True},
    )
    assert service.post("/resolutions", resolution)[1]["stored"] is False  # not counted again
    after = _scrape(service)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("agora_events_accepted_total") == 2
    assert grew("agora_events_duplicates_total") == 2
    assert grew("agora_corrections_stored_total", field="urgency") == 1
    assert grew("agora_resolutions_stored_total", outcome="resolved") == 1


def test_the_knowledge_base_reports_its_size_and_last_refresh(service: ServiceProcess) -> None:
    samples = _scrape(service)
    refreshed = _value(samples, "agora_knowledge_last_refresh_timestamp_seconds")
    assert refreshed > 0 and "agora_knowledge_cases" in samples
    assert _value(samples, "agora_knowledge_refresh_failures_total") == 0


# -- a server of this module's own: two workers, then broken on purpose ----------------------


@pytest.fixture(scope="module")
def two_workers(
    champions_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, Path, Path]]:
    """Two workers over a copy of the champions' registry and a cache of their own (the tests
    break both), polling the registry every second, one batch in flight per worker.

    Yields the server, its registry file and its cache folder."""
    root = tmp_path_factory.mktemp("ops-metrics")
    registry = root / "mlflow.db"
    shutil.copyfile(champions_home / "mlflow.db", registry)
    cache = root / "serving-cache"
    env = service_env(
        champions_home,
        AGORA_WORKERS="2",
        AGORA_STORE_URL=f"sqlite:///{root / 'events.db'}",
        AGORA_SERVING_CACHE=str(cache),
        MLFLOW_TRACKING_URI=f"sqlite:///{registry}",
        AGORA_RELOAD_INTERVAL="1",
        AGORA_MAX_BATCHES_IN_FLIGHT="1",
        AGORA_SIMILAR_CASES="0",
    )
    running = ServiceProcess(env, log_path=root / "service.log").start(timeout=240)
    yield running, registry, cache
    running.stop()


def _wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def test_counters_of_both_workers_add_up(two_workers: tuple[ServiceProcess, Path, Path]) -> None:
    service, _, _ = two_workers
    before = _scrape(service)
    answers = [_triage(service, COMPLAINT, f"metrics-w{number}") for number in range(12)]
    after = _scrape(service)
    name = "agora_triaged_messages_total"
    assert _total(after, name) - _total(before, name) == len(answers)
    labels = _labels_of(answers[0])  # the same text: the same labels every time
    assert _value(after, name, **labels) - _value(before, name, **labels) == len(answers)


def test_a_reload_counts_once_where_asked_and_once_per_worker_that_followed(
    two_workers: tuple[ServiceProcess, Path, Path],
) -> None:
    service, _, _ = two_workers
    before = _scrape(service)
    status, answer, _ = service.request("POST", "/admin/reload", b"{}")
    assert status == 200, answer

    def grew(trigger: str) -> float:
        now = _scrape(service)
        labels = {"trigger": trigger, "outcome": "ok"}
        name = "agora_model_reloads_total"
        return _value(now, name, **labels) - _value(before, name, **labels)

    _wait_for(lambda: grew("worker") == 1)  # the other worker follows within about a second
    assert grew("admin") == 1


def test_requests_over_the_in_flight_limit_are_counted_as_shed(
    two_workers: tuple[ServiceProcess, Path, Path],
) -> None:
    service, _, _ = two_workers
    before = _scrape(service)
    batch = {"texts": [f"{COMPLAINT} ({number})" for number in range(400)], "language": "en"}
    statuses: list[int] = []

    def send() -> None:
        statuses.append(service.post("/triage_batch", batch)[0])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = _scrape(service)
    shed = statuses.count(503)
    assert shed and set(statuses) == {200, 503}, statuses  # 8 batches, one per worker at once
    name = "agora_requests_shed_total"
    grown = _value(after, name, route="/triage_batch") - _value(before, name, route="/triage_batch")
    assert grown == shed
    assert _total(after, name) - _total(before, name) == shed


def test_a_failed_reload_and_failed_registry_polls_are_counted(
    two_workers: tuple[ServiceProcess, Path, Path],
) -> None:
    service, registry, cache = two_workers
    polls = "agora_registry_polls_total"
    _wait_for(lambda: _value(_scrape(service), polls, outcome="ok") > 0)
    before = _scrape(service)
    served = _served(before)
    # The registry stops answering (its database is no database any more) and the cache has
    # lost the recommender: the next load cannot find one anywhere.
    with registry.open("r+b") as handle:
        handle.write(b"\0" * 4096)
    shutil.rmtree(cache / served["recommender"][0])
    status, answer, _ = service.request("POST", "/admin/reload", b"{}")
    assert status == 503, answer
    _wait_for(lambda: _value(_scrape(service), polls, outcome="failed") >= 2)
    after = _scrape(service)
    reloads = "agora_model_reloads_total"
    failed = {"trigger": "admin", "outcome": "failed"}
    assert _value(after, reloads, **failed) - _value(before, reloads, **failed) == 1
    ok = {"trigger": "admin", "outcome": "ok"}
    assert _value(after, reloads, **ok) == _value(before, reloads, **ok)
    assert _served(after) == served  # the old champions keep serving, and say so
    # The registry's last answer stands still while the polls go on failing (it moved every
    # second before).
    reached = "agora_registry_last_reached_timestamp_seconds"
    time.sleep(2.5)
    later = _scrape(service)
    assert _value(later, polls, outcome="failed") > _value(after, polls, outcome="failed")
    assert 0 < _value(later, reached) == _value(after, reached)
