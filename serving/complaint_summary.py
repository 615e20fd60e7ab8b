"""The complaint summary the analytics endpoint answers and `agora report complaints` renders.

Per-day counts of one dimension's groups, the negative share, the most complained-about items,
emerging terms (the range's last day against the days before) and the alerts raised, over whole
days, all read through `data.store.complaint_counts` (bounded, counted in SQL).

Days are UTC days unless a time zone is named (`tz=Asia/Shanghai`, or `AGORA_ANALYTICS_TZ` for the
service's default): a team in UTC+8 reading UTC days sees each of its days cut at 08:00, and
"yesterday" holds this morning's complaints. A zone's days are counted as hours folded into
local days, so a day of 23 or 25 hours (daylight saving) is counted whole.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import zoneinfo
from dataclasses import asdict
from typing import Any, Final

from data.store import Store
from data.store.complaint_counts import DAY_S, BucketCounts
from features.complaint_terms import emerging_terms

SUMMARY_DIMENSIONS: Final = ("reason", "category", "queue", "item")
MAX_RANGE_DAYS: Final = 92
# The last instant a query may name: its day, widened to whole days, is still a Python date.
LATEST_EPOCH: Final = dt.datetime(9999, 12, 30, tzinfo=dt.UTC).timestamp()
TOP_ITEMS: Final = 10
TERM_SAMPLE: Final = 2000  # complaint texts per period read for emerging terms
# The shapes of the time parameters (the OpenAPI document states them as patterns).
RELATIVE_SHAPE: Final = re.compile(r"(\d{1,5})([dhm])")
TIME_SHAPE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?"  # ISO
    r"|\d{1,20}(\.\d{1,9})?([eE]\+?\d{1,3})?"  # epoch seconds
)
# An IANA zone name (Asia/Shanghai, America/Argentina/Buenos_Aires, Etc/GMT+8, EST5EDT, UTC):
# whatever a browser reports (the desk page sends it) has this shape.
ZONE_SHAPE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")
HOUR_S: Final = 3600.0
_UNIT_S: Final = {"d": DAY_S, "h": HOUR_S, "m": 60.0}
# Hours of the longest range a zone's days are counted over: MAX_RANGE_DAYS asked, widened by a
# day at each end, plus the hour of a day 25 hours long.
HOURS_PER_RANGE: Final = (MAX_RANGE_DAYS + 2) * 24 + 1


class AnalyticsInputError(ValueError):
    """A query the analytics cannot answer; the message says which parameter and why."""


TZ_ENV: Final = "AGORA_ANALYTICS_TZ"


def time_zone(name: str | None) -> dt.tzinfo:
    """The zone named `name` (an IANA name such as Asia/Shanghai), else `AGORA_ANALYTICS_TZ`'s,
    else UTC; AnalyticsInputError for a name that is no zone."""
    if name is None:
        name = os.environ.get(TZ_ENV, "").strip() or "UTC"
    if name == "UTC":
        return dt.UTC
    refusal = f"tz='{name[:40]}' is not a time zone name such as Asia/Shanghai or UTC"
    # Only a listed zone reaches ZoneInfo, which opens a file named by the client's text: a
    # folder of the zone database (`tz=Europe`) raised IsADirectoryError, and a name past the
    # file system's limit (`tz=` and 300 letters) OSError, both answered 500.
    if not ZONE_SHAPE.fullmatch(name) or name not in _zone_names():
        raise AnalyticsInputError(refusal)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise AnalyticsInputError(refusal) from None


@functools.cache
def _zone_names() -> frozenset[str]:
    """The IANA zone names the installed zone database holds (read once: ~50 ms)."""
    return frozenset(zoneinfo.available_timezones())


def parse_time(
    text: str, name: str, relative_to: float | None = None, zone: dt.tzinfo = dt.UTC
) -> float:
    """Epoch seconds from `7d`/`36h`/`90m` (before `relative_to`), an ISO date or time (in
    `zone` unless it names its offset), or a number of epoch seconds: the shapes `TIME_SHAPE`
    (and `RELATIVE_SHAPE`) say, which the API's document states; anything else is refused."""
    if not TIME_SHAPE.fullmatch(text) and not RELATIVE_SHAPE.fullmatch(text):
        raise AnalyticsInputError(
            f"{name}='{text[:40]}' is not 7d/36h/90m, an ISO date or time, or epoch seconds"
        )
    if match := RELATIVE_SHAPE.fullmatch(text):
        if relative_to is None:
            raise AnalyticsInputError(f"{name} cannot be relative ('{text}')")
        return relative_to - int(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        value = float(text)
    except ValueError:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise AnalyticsInputError(
                f"{name}='{text[:40]}' is not 7d/36h/90m, an ISO date or time, or epoch seconds"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return _within_calendar(parsed.timestamp(), name)
    if not math.isfinite(value) or value < 0:
        raise AnalyticsInputError(f"{name} must be a non-negative number of epoch seconds")
    return _within_calendar(value, name)


def _within_calendar(epoch: float, name: str) -> float:
    """`epoch`, refused when its day could not be written as a date (the range widens to whole
    days, and Python's dates end with the year 9999)."""
    if not 0 <= epoch <= LATEST_EPOCH:
        raise AnalyticsInputError(f"{name} must be between 1970-01-01 and 9999-12-30 (UTC)")
    return epoch


def day_range(since: float, until: float) -> tuple[float, float]:
    """[since, until) widened to whole UTC days; AnalyticsInputError if empty or too long."""
    if until <= since:
        raise AnalyticsInputError(
            "since must be before until (for one whole day, until is the next day's date)"
        )
    asked = (until - since) / DAY_S  # the limit is on what was asked, before widening
    if asked > MAX_RANGE_DAYS:
        raise AnalyticsInputError(
            f"the range spans {math.ceil(asked)} days; at most {MAX_RANGE_DAYS}"
        )
    return math.floor(since / DAY_S) * DAY_S, math.ceil(until / DAY_S) * DAY_S


def local_day_edges(since: float, until: float, zone: dt.tzinfo) -> list[float]:
    """The local midnights of `zone` from the one starting `since`'s day to the first at or
    after `until`: [since, until) widened to whole local days; AnalyticsInputError if empty or
    too long, as `day_range`."""
    day_range(since, until)  # the same refusals, on what was asked
    first = dt.datetime.fromtimestamp(since, zone).date()
    last = dt.datetime.fromtimestamp(until, zone)
    end = last.date() + dt.timedelta(days=0 if last.time() == dt.time(0) else 1)
    days = [first + dt.timedelta(days=i) for i in range((end - first).days + 1)]
    return [dt.datetime.combine(day, dt.time(0), zone).timestamp() for day in days]


def _iso_day(epoch: float, zone: dt.tzinfo = dt.UTC) -> str:
    return dt.datetime.fromtimestamp(epoch, zone).date().isoformat()


def _day_counts(
    store: Store, dimensions: tuple[str, ...], since: float, until: float, zone: dt.tzinfo
) -> tuple[dict[str, BucketCounts], list[float]]:
    """Counts per day of `zone` of each of `dimensions` (one pass over the range) and the day
    edges, [since, until) widened to whole days."""
    if zone is dt.UTC:
        start, end = day_range(since, until)
        counts = store.complaints.counts_of(dimensions, start, end, width=DAY_S)
        return counts, [*counts[dimensions[0]].starts, end]
    edges = local_day_edges(since, until, zone)
    # Hours, folded into the zone's days: local midnight is on the hour in every zone whose
    # offset changes by whole hours, and its days need not be 24 hours long.
    hours = store.complaints.counts_of(
        dimensions, edges[0], edges[-1], width=HOUR_S, max_buckets=HOURS_PER_RANGE
    )
    return {by: counts.folded(edges) for by, counts in hours.items()}, edges


def complaint_summary(
    store: Store,
    since: float,
    until: float,
    by: str,
    terms: bool = True,
    zone: dt.tzinfo = dt.UTC,
) -> dict[str, Any]:
    """Per-day complaint counts of `by`'s groups, negative share, top items, emerging terms
    (the last day against the days before) and the alerts raised, over whole days of `zone`."""
    if by not in SUMMARY_DIMENSIONS:
        raise AnalyticsInputError(f"by='{by[:40]}' is not one of {', '.join(SUMMARY_DIMENSIONS)}")
    # The top items come from the same pass over the range as `by`'s counts.
    counted, edges = _day_counts(store, (by, "item"), since, until, zone)
    counts, items = counted[by], counted["item"]
    start, end = edges[0], edges[-1]
    summary: dict[str, Any] = {
        "since": start,
        "until": end,
        "by": by,
        "time_zone": str(zone),
        "days": [_iso_day(s, zone) for s in counts.starts],
        "groups": [
            {"group": g, "total": counts.group_totals[g], "counts": series}
            for g, series in counts.groups.items()
        ],
        "other": counts.other,
        "messages": counts.totals,
        "complaints": counts.complaints,
        "negative_share": [None if s is None else round(s, 4) for s in counts.negative_share()],
        "top_items": [
            {"item_id": g, "complaints": n} for g, n in list(items.group_totals.items())[:TOP_ITEMS]
        ],
        "alerts": [asdict(a) for a in store.alerts.between(start, end)],
    }
    if terms:
        recent = store.complaints.complaint_texts(edges[-2], end, TERM_SAMPLE)
        baseline = store.complaints.complaint_texts(start, edges[-2], TERM_SAMPLE)
        summary["emerging_terms"] = [asdict(t) for t in emerging_terms(recent, baseline)]
    return summary
