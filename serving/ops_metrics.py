"""What an operator watches besides traffic: Agora's own Prometheus metrics on `/metrics`.

BentoML's `/metrics` carries its HTTP traffic metrics; these add the models served, reloads and
registry polls, the store, load shedding, the knowledge base, and the support desks' signal
(messages triaged by queue, urgency, sentiment and language). The README lists each one with
its labels and suggested alerts.

BentoML runs `prometheus_client` in multiprocess mode: each worker writes its values to files in
`PROMETHEUS_MULTIPROC_DIR` and `/metrics`, whichever worker answers it, sums the counters of
every worker and combines each gauge as its `multiprocess_mode` says. A metric is made the
first time it is used (`functools.cache`), in the worker, never at import: BentoML sets that
folder in the worker's environment, and a metric made before `prometheus_client` saw it would
count in memory only. Recording is a dictionary lookup and a write into a memory-mapped file.

Labels are bounded, never a request's value: routes are templates, outcomes and triggers are
fixed words, and triage labels come from the served models and the routing table, capped
(`serving.triage_metric_labels`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge

OK: Final = "ok"
FAILED: Final = "failed"
OUTCOMES: Final = (OK, FAILED)
# What started a reload: /admin/reload, another worker's reload (a shared token), a registry poll
# that saw an alias or binding move.
ReloadTrigger = Literal["admin", "worker", "registry"]
RELOAD_TRIGGERS: Final[tuple[ReloadTrigger, ...]] = ("admin", "worker", "registry")


def _counter(name: str, documentation: str, labels: Iterable[str] = ()) -> Counter:
    from prometheus_client import Counter  # in the worker, after BentoML set its folder

    return Counter(name, documentation, tuple(labels))


def _gauge(name: str, documentation: str, mode: str, labels: Iterable[str] = ()) -> Gauge:
    from prometheus_client import Gauge

    return Gauge(name, documentation, tuple(labels), multiprocess_mode=mode)  # type: ignore[arg-type]


def start(shed_routes: Iterable[str], polls: bool, knowledge: bool) -> None:
    """Make the counters alerts watch, every series at 0, when a worker starts: `increase()`
    over a series that first appears at 1 misses that first failure. And forget the live
    gauges of workers that died (`forget_dead_workers`)."""
    forget_dead_workers()
    _reloads()
    _events_accepted()
    _events_duplicates()
    if polls:
        _registry_polls()
    if knowledge:
        _knowledge_failures()
    counter = _shed()
    for route in shed_routes:
        counter.labels(route)


def forget_dead_workers() -> list[int]:
    """Drop the live gauges (`live*` modes) of worker processes that no longer run; returns
    their process ids.

    BentoML drops a worker's live gauges only when the worker's interpreter shuts down: one that
    was killed (out of memory, a crash) and started again by BentoML's arbiter left its values,
    and a dead worker's knowledge refresh time held the replica's minimum back for good. Each
    worker does this as it starts, so a replacement cleans up after the worker it replaces.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return []
    from prometheus_client import multiprocess

    ids = (path.stem.rsplit("_", 1)[-1] for path in Path(folder).glob("gauge_live*_*.db"))
    dead = sorted({int(pid) for pid in ids if pid.isdigit() and not _alive(int(pid))})
    for pid in dead:
        multiprocess.mark_process_dead(pid, folder)
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        return True
    return True


# -- models, reloads and the registry -------------------------------------------------------


@cache
def _served_model_info() -> Gauge:
    # livemax: 1 while any live worker of the replica serves the version; a version every worker
    # has swapped away from reads 0 (multiprocess files cannot drop a series).
    return _gauge(
        "agora_served_model_info",
        "1 for each champion version a slot serves (0: served before a reload, no longer)",
        "livemax",
        ("slot", "registered_model", "version", "source"),
    )


@cache
def _served_model_problems() -> Gauge:
    return _gauge(
        "agora_served_model_problems",
        "Slots or settings the served models list as problems (see /model_info)",
        "livemax",
    )


_served_lock = threading.Lock()
_served_series: set[tuple[str, str, str, str]] = set()


def served_models(refs: Mapping[str, tuple[str, str, str]], problems: int) -> None:
    """Record what this worker serves now: slot -> (registered name, version, source)."""
    series = {(slot, name, version, source) for slot, (name, version, source) in refs.items()}
    info = _served_model_info()
    with _served_lock:  # start-up, a reload and another worker's reload may race
        for labels in _served_series - series:
            info.labels(*labels).set(0)
        for labels in series:
            info.labels(*labels).set(1)
        _served_series.clear()
        _served_series.update(series)
    _served_model_problems().set(problems)


@cache
def _reloads() -> Counter:
    counter = _counter(
        "agora_model_reloads_total",
        "Reloads of the champions by what asked for them; failed: the old models kept serving",
        ("trigger", "outcome"),
    )
    for trigger in RELOAD_TRIGGERS:
        for outcome in OUTCOMES:
            counter.labels(trigger, outcome)  # every series from 0, so increase() sees the first
    return counter


def reloaded(trigger: ReloadTrigger, ok: bool) -> None:
    _reloads().labels(trigger, OK if ok else FAILED).inc()


@cache
def _registry_polls() -> Counter:
    counter = _counter(
        "agora_registry_polls_total",
        "Polls of the MLflow registry for moved aliases and slot bindings, by outcome",
        ("outcome",),
    )
    for outcome in OUTCOMES:
        counter.labels(outcome)
    return counter


def registry_polled(ok: bool) -> None:
    _registry_polls().labels(OK if ok else FAILED).inc()


@cache
def _registry_reached() -> Gauge:
    # max: the replica reached the registry when any of its workers did.
    return _gauge(
        "agora_registry_last_reached_timestamp_seconds",
        "When a worker last had an answer from the MLflow registry (Unix time)",
        "max",
    )


def registry_reached(at: float | None) -> None:
    """`at`: when the registry last answered this worker (None: never yet)."""
    if at is not None:
        _registry_reached().set(at)


# -- the store ------------------------------------------------------------------------------


@cache
def _store_unavailable() -> Counter:
    return _counter(
        "agora_store_unavailable_total",
        "Requests answered 503 because the store's database failed, by operation",
        ("operation",),
    )


def store_unavailable(operation: str) -> None:
    """`operation`: the API handler's name or the plain route's template (bounded by code)."""
    _store_unavailable().labels(operation).inc()


@cache
def _events_accepted() -> Counter:
    return _counter("agora_events_accepted_total", "Interaction events newly stored")


@cache
def _events_duplicates() -> Counter:
    return _counter(
        "agora_events_duplicates_total", "Events sent again with the same content (not stored)"
    )


def events_written(accepted: int, duplicates: int) -> None:
    _events_accepted().inc(accepted)
    _events_duplicates().inc(duplicates)


@cache
def _corrections() -> Counter:
    return _counter(
        "agora_corrections_stored_total", "Agents' corrections newly stored, by field", ("field",)
    )


def correction_stored(field: str) -> None:
    """`field`: one of the correction schema's fields (a closed list)."""
    _corrections().labels(field).inc()


@cache
def _resolutions() -> Counter:
    return _counter(
        "agora_resolutions_stored_total",
        "Agents' resolutions newly stored, by outcome",
        ("outcome",),
    )


def resolution_stored(outcome: str) -> None:
    """`outcome`: one of the resolution schema's outcomes (a closed list)."""
    _resolutions().labels(outcome).inc()


# -- load -----------------------------------------------------------------------------------


@cache
def _shed() -> Counter:
    return _counter(
        "agora_requests_shed_total",
        "Requests answered 503 overloaded at once because the worker was at its in-flight limit",
        ("route",),
    )


def shed(route: str) -> None:
    """`route`: the route template (RouteGuard answered every other path already)."""
    _shed().labels(route).inc()


# -- the knowledge base ---------------------------------------------------------------------


@cache
def _knowledge_cases() -> Gauge:
    return _gauge(
        "agora_knowledge_cases",
        "Resolved cases in the knowledge base /triage searches (the fullest live worker)",
        "livemax",
    )


@cache
def _knowledge_refreshed() -> Gauge:
    # livemin: the worker furthest behind sets the replica's lag.
    return _gauge(
        "agora_knowledge_last_refresh_timestamp_seconds",
        "When the knowledge base last caught up with the store (Unix time; the laggiest worker)",
        "livemin",
    )


@cache
def _knowledge_failures() -> Counter:
    return _counter(
        "agora_knowledge_refresh_failures_total",
        "Knowledge base refreshes that failed (the cases held keep being served)",
    )


def knowledge_refreshed(cases: int, at: float | None = None) -> None:
    _knowledge_cases().set(cases)
    _knowledge_refreshed().set(time.time() if at is None else at)


def knowledge_refresh_failed() -> None:
    _knowledge_failures().inc()


# -- the support desks' signal --------------------------------------------------------------


@cache
def _triaged() -> Counter:
    return _counter(
        "agora_triaged_messages_total",
        "Messages triaged by POST /triage, by queue, urgency, sentiment and language",
        ("queue", "urgency", "sentiment", "language"),
    )


@cache
def _complaints() -> Counter:
    return _counter(
        "agora_triaged_complaints_total",
        "Messages POST /triage found to be complaints, by complaint reason",
        ("reason",),
    )


def triaged(queue: str, urgency: str, sentiment: str, language: str, reason: str | None) -> None:
    """One message triaged; labels already bounded (`serving.triage_metric_labels`); `reason`:
    None when the message is no complaint."""
    _triaged().labels(queue, urgency, sentiment, language).inc()
    if reason is not None:
        _complaints().labels(reason).inc()
