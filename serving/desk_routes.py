"""The support desk: a page for agents and the queue it reads.

`GET /desk` (with its script and style sheet) is a static shell holding no customer data: the
agent signs in with their API key, kept in the tab's session storage, and every call the page
makes carries it. The data is behind the `agent` role: the queue (`GET /desk/queue`, a page at a
time with the agent's filters: `serving.desk_paging`), and the
same API any client uses for corrections (`POST /corrections`), resolutions (`POST
/resolutions`) and trends (`GET /analytics/complaints`). The page builds every element with
`textContent`, never HTML from data, and is served with a Content-Security-Policy that allows
only its own script: customers' text cannot run in an agent's browser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response

from data.store import Store
from data.store.case_queue import MAX_QUEUE_ROWS
from data.store.resolutions import OUTCOMES
from data.store.tables import LABEL_LENGTH
from models.triage.schema import URGENCY_LEVELS
from serving.desk_paging import (
    MAX_CURSOR_CHARS,
    MAX_SPAN_HOURS,
    MAX_TIME_CHARS,
    MAX_ZONE_CHARS,
    DeskQueryError,
    FiltersAsked,
    WindowAsked,
    continued,
    cursor_of,
    queue_filter,
)
from serving.knowledge import ServedKnowledge
from serving.served_models import ServedModels

PAGE_DIR: Final = Path(__file__).with_name("desk")
PAGE_FILES: Final = {
    "/desk": ("desk.html", "text/html; charset=utf-8"),
    "/desk/desk.js": ("desk.js", "text/javascript; charset=utf-8"),
    "/desk/desk.css": ("desk.css", "text/css; charset=utf-8"),
}
# Only the page's own files; no inline script, no frames, no form posts elsewhere.
PAGE_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _page_file(name: str) -> bytes:
    return (PAGE_DIR / name).read_bytes()


class DeskSource(Protocol):
    """What the desk's queue needs of the running service."""

    store: Store
    served: ServedModels
    knowledge: ServedKnowledge


def install_desk_routes(app: FastAPI, running: Callable[[], DeskSource | None]) -> None:
    """Add the desk's page and queue to `app`; `running` gives the service instance (None:
    starting)."""

    def page(path: str) -> Callable[[], Response]:
        name, media_type = PAGE_FILES[path]

        def serve() -> Response:
            return Response(_page_file(name), media_type=media_type, headers=PAGE_HEADERS)

        return serve

    for path in PAGE_FILES:
        app.add_api_route(path, page(path), methods=["GET"], include_in_schema=False)

    @app.get("/desk/queue")
    def desk_queue(
        since_hours: float | None = Query(None, gt=0, le=MAX_SPAN_HOURS),
        since: str | None = Query(None, min_length=1, max_length=MAX_TIME_CHARS),
        until: str | None = Query(None, min_length=1, max_length=MAX_TIME_CHARS),
        tz: str | None = Query(None, min_length=1, max_length=MAX_ZONE_CHARS),
        status: Literal["open", "resolved", "all"] | None = None,
        include_resolved: bool | None = None,
        queue: str | None = Query(None, min_length=1, max_length=LABEL_LENGTH),
        urgency: Literal[URGENCY_LEVELS] | None = None,  # type: ignore[valid-type]
        limit: int = Query(50, ge=1, le=MAX_QUEUE_ROWS),
        cursor: str | None = Query(None, min_length=1, max_length=MAX_CURSOR_CHARS),
    ) -> dict[str, Any]:
        """Triaged cases, most urgent first, a page at a time, with the labels an agent may
        correct to: `next_cursor` reads the next page of the same query (None: the last)."""
        service = running()
        if service is None:
            raise HTTPException(503, "the service is starting")
        filters = FiltersAsked(status, include_resolved, queue, urgency)
        try:
            if cursor is None:
                which = queue_filter(WindowAsked(since_hours, since, until, tz), filters)
                after = None
            else:
                which, after = continued(cursor, filters, URGENCY_LEVELS)
        except DeskQueryError as error:
            raise HTTPException(400, str(error)) from None
        cases, last = service.store.queue.page(which, URGENCY_LEVELS, limit=limit, after=after)
        # Counted apart from the page: with more cases than `limit`, the page shows that.
        total = service.store.queue.count(which)
        rows = [asdict(case) for case in cases]
        for row in rows:
            # As on /triage, only complaints look for past resolutions (each is an embedding),
            # cases of the case's reason first; an agent's corrections decide both.
            reason = row["corrections"].get("reason") or row["reason"]
            corrected = row["corrections"].get("is_complaint")
            complaint = row["is_complaint"] if corrected is None else corrected == "true"
            found = service.knowledge.similar_cases(row["text"], reason) if complaint else []
            row["similar_cases"] = [vars(c) for c in found if c.triage_id != row["triage_id"]]
        engine = service.served.triage
        return {
            "cases": rows,
            "total": max(total, len(rows)),
            "next_cursor": cursor_of(which, last) if last is not None else None,
            # The window the pages read (the first page's, for every page after it).
            "window": {"since": which.since, "until": which.until},
            "filters": {"status": which.status, "queue": which.queue, "urgency": which.urgency},
            "choices": engine.label_choices() if engine is not None else {},
            "language_choices": engine.language_choices() if engine is not None else {},
            "outcomes": list(OUTCOMES),
        }
