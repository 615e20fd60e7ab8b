"""The complaint summary the analytics endpoint answers and `agora report complaints` renders.

Per-day counts of one dimension's groups, the negative share, the most complained-about items,
emerging terms (the range's last day against the days before) and the alerts raised, over whole
UTC days, all read through `data.store.complaint_counts` (bounded, counted in SQL).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import asdict
from typing import Any, Final

from data.store import Store
from data.store.complaint_counts import DAY_S
from features.complaint_terms import emerging_terms

SUMMARY_DIMENSIONS: Final = ("reason", "category", "queue", "item")
MAX_RANGE_DAYS: Final = 92
# The last instant a query may name: its day, widened to whole days, is still a Python date.
LATEST_EPOCH: Final = dt.datetime(9999, 12, 30, tzinfo=dt.UTC).timestamp()
TOP_ITEMS: Final = 10
TERM_SAMPLE: Final = 2000  # complaint texts per period read for emerging terms
_RELATIVE = re.compile(r"^(\d{1,5})([dhm])$")
_UNIT_S: Final = {"d": DAY_S, "h": 3600.0, "m": 60.0}


class AnalyticsInputError(ValueError):
    """A query the analytics cannot answer; the message says which parameter and why."""


def parse_time(text: str, name: str, relative_to: float | None = None) -> float:
    """Epoch seconds from `7d`/`36h`/`90m` (before `relative_to`), an ISO date or time, or a
    number of epoch seconds."""
    text = text.strip()
    if match := _RELATIVE.match(text):
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
            parsed = parsed.replace(tzinfo=dt.UTC)
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


def _iso_day(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).date().isoformat()


def complaint_summary(
    store: Store, since: float, until: float, by: str, terms: bool = True
) -> dict[str, Any]:
    """Per-day complaint counts of `by`'s groups, negative share, top items, emerging terms
    (the last day against the days before) and the alerts raised, over whole UTC days."""
    if by not in SUMMARY_DIMENSIONS:
        raise AnalyticsInputError(f"by='{by[:40]}' is not one of {', '.join(SUMMARY_DIMENSIONS)}")
    start, end = day_range(since, until)
    counts = store.complaints.counts(by, start, end, width=DAY_S)
    items = counts if by == "item" else store.complaints.counts("item", start, end, width=DAY_S)
    summary: dict[str, Any] = {
        "since": start,
        "until": end,
        "by": by,
        "days": [_iso_day(s) for s in counts.starts],
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
        recent = store.complaints.complaint_texts(end - DAY_S, end, TERM_SAMPLE)
        baseline = store.complaints.complaint_texts(start, end - DAY_S, TERM_SAMPLE)
        summary["emerging_terms"] = [asdict(t) for t in emerging_terms(recent, baseline)]
    return summary
