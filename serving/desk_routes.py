"""The support desk: a page for agents and the queue it reads.

`GET /desk` (with its script and style sheet) is a static shell holding no customer data: the
agent signs in with their API key, kept in the tab's session storage, and every call the page
makes carries it. The data is behind the `agent` role: the queue (`GET /desk/queue`), and the
same API any client uses for corrections (`POST /corrections`), resolutions (`POST
/resolutions`) and trends (`GET /analytics/complaints`). The page builds every element with
`textContent`, never HTML from data, and is served with a Content-Security-Policy that allows
only its own script: customers' text cannot run in an agent's browser.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any, Final, Protocol

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response

from data.store import Store
from data.store.case_queue import MAX_QUEUE_ROWS
from data.store.resolutions import OUTCOMES
from models.triage.schema import URGENCY_LEVELS
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
MAX_SINCE_HOURS: Final = 24 * 90


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
        since_hours: float = Query(168, gt=0, le=MAX_SINCE_HOURS),
        limit: int = Query(50, ge=1, le=MAX_QUEUE_ROWS),
        include_resolved: bool = False,
    ) -> dict[str, Any]:
        """Recent triaged cases, most urgent first, with the labels an agent may correct to."""
        service = running()
        if service is None:
            raise HTTPException(503, "the service is starting")
        since = time.time() - since_hours * 3600
        cases = service.store.queue.recent(
            since, URGENCY_LEVELS, limit=limit, include_resolved=include_resolved
        )
        # Counted apart from the page: with more cases than `limit`, the page shows that.
        total = service.store.queue.count(since, include_resolved=include_resolved)
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
            "choices": engine.label_choices() if engine is not None else {},
            "outcomes": list(OUTCOMES),
        }
