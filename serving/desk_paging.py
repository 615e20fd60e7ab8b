"""The desk queue's query: its window and filters from the request, and the cursor of its pages.

A page's `next_cursor` carries the whole query (the window as first read, the filters) and the
position after the page's last case, so the next page continues the same read: the window does
not slide with the clock between pages (a case would age out unseen, or one that arrived since
slip in under a page already read), and cases that arrive or are resolved meanwhile do not shift
later pages as an offset would. A cursor is opaque to clients (base64 of JSON) but not trusted:
every field is checked as a query parameter would be, and a cursor that fails is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Final

from data.store.case_queue import STATUSES, QueueFilter, QueuePosition
from data.store.tables import LABEL_LENGTH, TRIAGE_ID_LENGTH
from serving.complaint_summary import AnalyticsInputError, parse_time, time_zone

DEFAULT_HOURS: Final = 24 * 7  # the queue's window unless asked: the last 7 days
MAX_SPAN_HOURS: Final = 24 * 90  # the widest window one query reads (each page counts it)
MAX_TIME_CHARS: Final = 40  # `since`/`until`: an ISO time with offset is 32
MAX_ZONE_CHARS: Final = 64
# A cursor holds a queue name of up to LABEL_LENGTH characters (3 bytes each at worst) and an
# id, as base64: this bounds it with room to spare.
MAX_CURSOR_CHARS: Final = 2048
_CURSOR_VERSION: Final = 1
_BAD_CURSOR: Final = (
    "cursor is not one this desk gave (it is cut, edited, or from another version): read the "
    "queue again from its first page, without cursor"
)


class DeskQueryError(ValueError):
    """A queue query the desk refuses (a 400); the message names the parameter and why."""


@dataclass(frozen=True)
class WindowAsked:
    """The window parameters as sent (None: not sent)."""

    since_hours: float | None = None
    since: str | None = None
    until: str | None = None
    tz: str | None = None


@dataclass(frozen=True)
class FiltersAsked:
    """The filter parameters as sent (None: not sent)."""

    status: str | None = None
    include_resolved: bool | None = None
    queue: str | None = None
    urgency: str | None = None


def queue_filter(
    window: WindowAsked, filters: FiltersAsked, now: float | None = None
) -> QueueFilter:
    """The filter a first page reads: DeskQueryError for a window or filters that do not fit."""
    since, until = _window(window, time.time() if now is None else now)
    return QueueFilter(since, until, _status(filters), filters.queue, filters.urgency)


def continued(
    cursor: str, filters: FiltersAsked, levels: tuple[str, ...]
) -> tuple[QueueFilter, QueuePosition]:
    """The filter and position a `cursor` continues. Filters sent beside it must be the
    cursor's (a cursor of one query cannot page another); its window is the first page's."""
    which, position = _decoded(cursor, levels)
    sent = {
        "status": _status(filters) if filters.status or filters.include_resolved else None,
        "queue": filters.queue,
        "urgency": filters.urgency,
    }
    differ = [
        name for name, value in sent.items() if value is not None and value != getattr(which, name)
    ]
    if differ:
        raise DeskQueryError(
            f"cursor continues another query ({', '.join(differ)} differ): send the cursor with "
            "the filters of the page that gave it, or start again without cursor"
        )
    return which, position


def cursor_of(which: QueueFilter, position: QueuePosition) -> str:
    """The cursor of the page after `position` in the queue `which` selects."""
    fields = [
        _CURSOR_VERSION,
        which.since,
        which.until,
        which.status,
        which.queue,
        which.urgency,
        position.rank,
        position.created_at,
        position.triage_id,
    ]
    raw = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _status(filters: FiltersAsked) -> str:
    if filters.include_resolved is not None and filters.status is not None:
        raise DeskQueryError(
            "include_resolved is the older spelling of status=all (or status=open): send one"
        )
    if filters.include_resolved is not None:
        return "all" if filters.include_resolved else "open"
    return filters.status or "open"


def _window(asked: WindowAsked, now: float) -> tuple[float, float]:
    """[since, until) in epoch seconds: `since_hours` before now, or `since`/`until` (the forms
    of /analytics/complaints; dates in `tz`), at most MAX_SPAN_HOURS wide."""
    absolute = asked.since is not None or asked.until is not None
    if asked.since_hours is not None and absolute:
        raise DeskQueryError("since_hours counts back from now: send it or since/until, not both")
    if asked.tz is not None and not absolute:
        raise DeskQueryError("tz places the dates of since/until: send it with them")
    if not absolute:
        hours = DEFAULT_HOURS if asked.since_hours is None else asked.since_hours
        return now - hours * 3600, now
    try:
        zone = time_zone(asked.tz)
        until = parse_time(asked.until, "until", zone=zone) if asked.until is not None else now
        since = (
            parse_time(asked.since, "since", relative_to=until, zone=zone)
            if asked.since is not None
            else until - DEFAULT_HOURS * 3600
        )
    except AnalyticsInputError as error:
        raise DeskQueryError(str(error)) from None
    _check_span(since, until)
    return since, until


def _check_span(since: float, until: float) -> None:
    if since >= until:
        raise DeskQueryError("since must be before until")
    if until - since > MAX_SPAN_HOURS * 3600:
        days = (until - since) / 86400
        raise DeskQueryError(
            f"the window is {days:,.1f} days; the queue reads at most {MAX_SPAN_HOURS // 24} "
            "days at once: narrow since/until"
        )


def _decoded(cursor: str, levels: tuple[str, ...]) -> tuple[QueueFilter, QueuePosition]:
    """The cursor's filter and position; DeskQueryError for anything this desk did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fields: Any = json.loads(raw)
    except (binascii.Error, ValueError):
        raise DeskQueryError(_BAD_CURSOR) from None
    if not (isinstance(fields, list) and len(fields) == 9 and fields[0] == _CURSOR_VERSION):
        raise DeskQueryError(_BAD_CURSOR)
    _, since, until, status, queue, urgency, rank, created_at, triage_id = fields
    fits = (
        all(_is_time(value) for value in (since, until, created_at))
        and status in STATUSES
        and (queue is None or (isinstance(queue, str) and 0 < len(queue) <= LABEL_LENGTH))
        and (urgency is None or urgency in levels)
        and type(rank) is int
        and -1 <= rank < len(levels)
        and isinstance(triage_id, str)
        and 0 < len(triage_id) <= TRIAGE_ID_LENGTH
    )
    if not fits:
        raise DeskQueryError(_BAD_CURSOR)
    try:
        _check_span(since, until)
    except DeskQueryError:
        raise DeskQueryError(_BAD_CURSOR) from None
    which = QueueFilter(float(since), float(until), status, queue, urgency)
    return which, QueuePosition(rank, float(created_at), triage_id)


def _is_time(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0  # type: ignore[arg-type]
