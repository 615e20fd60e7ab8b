"""Complaint trends over the days of a time zone: local midnights, daylight saving counted whole."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from pathlib import Path

import pytest

from data.store import Store
from serving.complaint_summary import (
    AnalyticsInputError,
    complaint_summary,
    local_day_edges,
    parse_time,
    time_zone,
)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


def _complaint(store: Store, at: dt.datetime) -> None:
    outputs = {"sentiment": {"label": "negative"}, "reason": {"label": "late"}}
    store.triage.record(
        "late again", outputs, {}, "en", True, customer_id="c", occurred_at=at.timestamp()
    )


def test_a_shanghai_morning_is_counted_on_its_own_day_not_the_utc_one(store: Store) -> None:
    # 07:30 in Shanghai is 23:30 UTC the day before: in UTC days it lands on the wrong date.
    _complaint(store, dt.datetime(2026, 11, 20, 7, 30, tzinfo=SHANGHAI))
    _complaint(store, dt.datetime(2026, 11, 20, 21, 0, tzinfo=SHANGHAI))
    zone = time_zone("Asia/Shanghai")
    since = parse_time("2026-11-19", "since", zone=zone)
    until = parse_time("2026-11-21", "until", zone=zone)
    local = complaint_summary(store, since, until, "reason", terms=False, zone=zone)
    assert local["days"] == ["2026-11-19", "2026-11-20"]
    assert local["complaints"] == [0, 2]
    assert local["time_zone"] == "Asia/Shanghai"
    utc = complaint_summary(store, since, until, "reason", terms=False)
    assert dict(zip(utc["days"], utc["complaints"], strict=True))["2026-11-19"] == 1


def test_a_day_of_23_hours_is_counted_whole(store: Store) -> None:
    # New York skipped 02:00-03:00 on 2026-03-08: that day is 23 hours long.
    for hour in (0, 1, 3, 23):
        _complaint(store, dt.datetime(2026, 3, 8, hour, 30, tzinfo=NEW_YORK))
    _complaint(store, dt.datetime(2026, 3, 9, 0, 30, tzinfo=NEW_YORK))
    since = dt.datetime(2026, 3, 7, tzinfo=NEW_YORK).timestamp()
    until = dt.datetime(2026, 3, 10, tzinfo=NEW_YORK).timestamp()
    edges = local_day_edges(since, until, NEW_YORK)
    assert [b - a for a, b in itertools.pairwise(edges)] == [86400, 82800, 86400]
    summary = complaint_summary(store, since, until, "reason", terms=False, zone=NEW_YORK)
    assert summary["days"] == ["2026-03-07", "2026-03-08", "2026-03-09"]
    assert summary["complaints"] == [0, 4, 1]
    assert summary["groups"] == [{"group": "late", "total": 5, "counts": [0, 4, 1]}]


def test_a_range_ending_at_local_midnight_takes_no_extra_day() -> None:
    since = dt.datetime(2026, 11, 19, tzinfo=SHANGHAI).timestamp()
    until = dt.datetime(2026, 11, 21, tzinfo=SHANGHAI).timestamp()
    assert local_day_edges(since, until, SHANGHAI) == [
        since,
        since + 86400,
        until,
    ]


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "UTC+8"])
def test_a_name_that_is_no_time_zone_is_refused(name: str) -> None:
    with pytest.raises(AnalyticsInputError, match="not a time zone name"):
        time_zone(name)


@pytest.mark.parametrize("name", ["Europe", "Etc", "America/Argentina", "A" * 300])
def test_a_zone_folder_or_an_overlong_name_is_refused_not_a_crash(name: str) -> None:
    """Regression: `tz=Europe` (a folder of the zone database) raised IsADirectoryError and
    `tz=` with 300 letters OSError: both were 500s on /analytics/complaints and /desk/queue."""
    with pytest.raises(AnalyticsInputError, match="not a time zone name"):
        time_zone(name)


@pytest.mark.parametrize("name", ["EST5EDT", "Etc/UTC", "America/Argentina/Buenos_Aires"])
def test_names_a_browser_may_report_are_zones(name: str) -> None:
    assert str(time_zone(name)) == name


def test_the_default_zone_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_ANALYTICS_TZ", "Asia/Shanghai")
    assert str(time_zone(None)) == "Asia/Shanghai"
    assert time_zone("UTC") is dt.UTC  # a request's own zone wins
    monkeypatch.delenv("AGORA_ANALYTICS_TZ")
    assert time_zone(None) is dt.UTC
