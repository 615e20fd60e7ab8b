"""The desk's queue read: order by urgency as agents corrected it, and the count beyond a page
(fixtures in tests/data/conftest.py: SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from data.store import Store
from data.store.case_queue import QUEUE_TEXT_CHARS, QueueFilter, QueuePosition
from data.store.tables import triage_records

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
    assert store.queue.count(QueueFilter(0.0)) == 5
    store.resolutions.add(ids[0], "已退款", "resolved", "xiaoli")
    assert store.queue.count(QueueFilter(0.0)) == 4
    assert store.queue.count(QueueFilter(0.0, status="all")) == 5
    assert store.queue.count(QueueFilter(0.0, status="resolved")) == 1
    assert store.queue.count(QueueFilter(10**10)) == 0


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


def test_pages_follow_one_another_from_a_position_as_cases_arrive_and_leave(store: Store) -> None:
    """Regression: the desk could read the 50 most urgent cases only; an offset would have
    shifted as cases arrived or left. Each page starts after the last case of the one before."""
    levels = ["critical", "high", "normal", "low"] * 3
    ids = [_triage(store, f"案例 {i}", level) for i, level in enumerate(levels)]
    everything = QueueFilter(0.0)
    expected = [case.triage_id for case in store.queue.page(everything, LEVELS, limit=12)[0]]
    assert sorted(expected) == sorted(ids)

    first, after = store.queue.page(everything, LEVELS, limit=5)
    assert [c.triage_id for c in first] == expected[:5] and after is not None
    # Meanwhile a critical case arrives (it sorts before the position) and one case is resolved.
    newcomer = _triage(store, "新的紧急案例", "critical")
    store.resolutions.add(expected[7], "已处理", "resolved", "xiaoli")
    second, after = store.queue.page(everything, LEVELS, limit=5, after=after)
    assert [c.triage_id for c in second] == expected[5:7] + expected[8:11]
    third, after = store.queue.page(everything, LEVELS, limit=5, after=after)
    assert [c.triage_id for c in third] == expected[11:] and after is None
    assert newcomer not in {c.triage_id for c in first + second + third}


def test_cases_of_the_same_urgency_and_time_page_by_id(store: Store) -> None:
    """Ties (one urgency, one arrival time) are ordered by id, so no case is skipped or repeated
    where a page boundary falls inside them."""
    ids = [_triage(store, f"同时 {i}", "high") for i in range(5)]
    with store.engine.begin() as connection:
        connection.execute(triage_records.update().values(created_at=1_000.0))
    seen: list[str] = []
    after: QueuePosition | None = None
    while True:
        cases, after = store.queue.page(QueueFilter(0.0), LEVELS, limit=2, after=after)
        seen += [c.triage_id for c in cases]
        if after is None:
            break
    assert seen == sorted(ids)


def test_the_queue_filters_by_status_queue_urgency_and_window(store: Store) -> None:
    def queued(text: str, level: str, queue: str) -> str:
        outputs = {"urgency": {"level": level}, "routing": {"queue": queue}}
        return store.triage.record(text, outputs, {}, "zh", True, customer_id="c1")

    payments = queued("退款没到账", "high", "payments")
    crash = queued("直播闪退", "normal", "tech")
    moved = queued("会员没到账", "low", "tech")
    store.triage.add_correction(moved, "queue", "payments", "xiaoli")  # as corrected
    store.triage.add_correction(crash, "urgency", "critical", "xiaoli")
    store.resolutions.add(payments, "已退款", "resolved", "xiaoli")

    def listed(**which: object) -> list[str]:
        chosen = QueueFilter(**{"since": 0.0, **which})  # type: ignore[arg-type]
        cases, _ = store.queue.page(chosen, LEVELS, limit=10)
        assert store.queue.count(chosen) == len(cases)
        return [c.triage_id for c in cases]

    assert listed() == [crash, moved]
    assert listed(status="resolved") == [payments]
    assert listed(status="all", queue="payments") == [payments, moved]
    assert listed(urgency="critical") == [crash]
    assert listed(urgency="normal") == []
    assert listed(status="all", until=0.0) == []
    assert listed(since=10.0**10) == []
