"""The desk's queue read: order by urgency as agents corrected it, and the count beyond a page
(fixtures in tests/data/conftest.py: SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from data.store import Store
from data.store.case_queue import QUEUE_TEXT_CHARS

LEVELS = ("low", "normal", "high", "critical")


def _triage(store: Store, text: str, level: str) -> str:
    outputs = {"urgency": {"level": level}}
    return store.triage.record(text, outputs, {}, "zh", True, customer_id="c1")


def test_a_case_an_agent_escalates_rises_to_the_top(store: Store) -> None:
    """Regression: the queue was ordered by the model's urgency, so a case an agent corrected
    to critical (a threat the rules missed) stayed below every case the model called high."""
    highs = [_triage(store, f"直播闪退 {i}", "high") for i in range(3)]
    threat = _triage(store, "直播间有人威胁要杀了我", "normal")

    def order() -> list[str]:
        return [case.triage_id for case in store.queue.recent(0.0, LEVELS, limit=3)]

    assert threat not in order()
    store.triage.add_correction(threat, "urgency", "critical", "xiaoli")
    assert order()[0] == threat
    store.triage.add_correction(threat, "urgency", "low", "xiaoli")  # the latest counts
    assert threat not in order() and set(order()) == set(highs)


def test_the_count_says_how_many_are_open_beyond_the_page(store: Store) -> None:
    ids = [_triage(store, f"退款没到账 {i}", "normal") for i in range(5)]
    assert len(store.queue.recent(0.0, LEVELS, limit=2)) == 2
    assert store.queue.count(0.0) == 5
    store.resolutions.add(ids[0], "已退款", "resolved", "xiaoli")
    assert store.queue.count(0.0) == 4 and store.queue.count(0.0, include_resolved=True) == 5
    assert store.queue.count(10**10) == 0


def test_a_long_text_is_queued_as_its_opening_with_its_whole_length(store: Store) -> None:
    """Regression: the queue answered each case's whole text, so a page of 200 cases of 100 KB
    made a 20 MB answer; it now holds each text's first QUEUE_TEXT_CHARS characters."""
    long_text = "退款没到账" * 20_000  # 100,000 characters, 300 KB of UTF-8
    _triage(store, long_text, "normal")
    _triage(store, "short", "normal")
    cases = {case.text_chars: case for case in store.queue.recent(0.0, LEVELS)}
    assert cases[len(long_text)].text == long_text[:QUEUE_TEXT_CHARS]
    assert cases[5].text == "short"


def test_an_open_case_shows_its_last_attempt(store: Store) -> None:
    """Regression: the queue answered a case's latest resolution only with include_resolved, so
    an open case's `not_resolved` attempt was not shown: the next agent started over."""
    triage_id = _triage(store, "退款没到账", "normal")
    store.resolutions.add(triage_id, "已联系支付团队，等待回复", "not_resolved", "xiaoli")
    (case,) = store.queue.recent(0.0, LEVELS)
    assert case.resolution is not None
    assert (case.resolution["outcome"], case.resolution["agent"]) == ("not_resolved", "xiaoli")
    assert case.resolution["resolution"] == "已联系支付团队，等待回复"
