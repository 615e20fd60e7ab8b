"""The desk queue's query: windows, filters and cursors are checked before any read."""

from __future__ import annotations

import base64
import json

import pytest

from data.store.case_queue import QueueFilter, QueuePosition
from serving.desk_paging import (
    DeskQueryError,
    FiltersAsked,
    WindowAsked,
    continued,
    cursor_of,
    queue_filter,
)

LEVELS = ("low", "normal", "high", "critical")
NOW = 1_800_000_000.0


def test_the_default_window_is_the_last_seven_days_of_open_cases() -> None:
    which = queue_filter(WindowAsked(), FiltersAsked(), now=NOW)
    assert which == QueueFilter(NOW - 7 * 86400, NOW, "open")
    assert queue_filter(WindowAsked(), FiltersAsked(include_resolved=True), now=NOW).status == "all"


def test_a_date_range_is_read_in_the_agents_zone_and_bounded() -> None:
    asked = WindowAsked(since="2027-01-01", until="2027-01-08", tz="Asia/Shanghai")
    which = queue_filter(asked, FiltersAsked(status="resolved", urgency="high"), now=NOW)
    assert which.until - which.since == 7 * 86400
    assert which.since == 1_798_761_600.0 - 8 * 3600  # 2027-01-01 00:00 in UTC+8
    assert (which.status, which.urgency) == ("resolved", "high")


@pytest.mark.parametrize(
    ("window", "filters", "says"),
    [
        (WindowAsked(since="2027-01-01", until="2027-06-01"), FiltersAsked(), "at most 90 days"),
        (WindowAsked(since="2027-01-08", until="2027-01-01"), FiltersAsked(), "before until"),
        (WindowAsked(since_hours=24, since="2027-01-01"), FiltersAsked(), "not both"),
        (WindowAsked(since="yesterday"), FiltersAsked(), "since='yesterday'"),
        (WindowAsked(since="2027-01-01", tz="Mars/Olympus"), FiltersAsked(), "tz="),
        (WindowAsked(tz="UTC"), FiltersAsked(), "with them"),
        (WindowAsked(), FiltersAsked(status="all", include_resolved=True), "send one"),
    ],
)
def test_a_window_or_filter_that_does_not_fit_is_refused_with_a_reason(
    window: WindowAsked, filters: FiltersAsked, says: str
) -> None:
    with pytest.raises(DeskQueryError, match=says):
        queue_filter(window, filters, now=NOW)


def test_a_cursor_carries_its_query_and_position() -> None:
    which = QueueFilter(NOW - 86400, NOW, "all", "支付", "critical")
    position = QueuePosition(3, NOW - 5.25, "a" * 32)
    cursor = cursor_of(which, position)
    assert continued(cursor, FiltersAsked(), LEVELS) == (which, position)
    # The same filters sent beside it are fine; others are another query's.
    assert continued(cursor, FiltersAsked(status="all", queue="支付"), LEVELS)[0] == which
    with pytest.raises(DeskQueryError, match="another query \\(status, urgency differ\\)"):
        continued(cursor, FiltersAsked(status="open", urgency="low"), LEVELS)


def _forged(fields: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "%%%",
        _forged([1, 0, 10, "open", None, None, 0, 5.0]),  # a field short
        _forged([2, 0, 10, "open", None, None, 0, 5.0, "t"]),  # another version
        _forged([1, 0, 10, "closed", None, None, 0, 5.0, "t"]),
        _forged([1, 0, 10, "open", None, "urgent", 0, 5.0, "t"]),
        _forged([1, 0, 10, "open", None, None, 9, 5.0, "t"]),
        _forged([1, 0, 10, "open", None, None, 0, "5", "t"]),
        _forged([1, 0, 10, "open", None, None, 0, 5.0, "t" * 65]),
        _forged([1, 0, 10**9, "open", None, None, 0, 5.0, "t"]),  # a window of 31 years
        _forged([1, 10, 0, "open", None, None, 0, 5.0, "t"]),
    ],
)
def test_a_cursor_the_desk_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(DeskQueryError, match="cursor is not one this desk gave"):
        continued(cursor, FiltersAsked(), LEVELS)
