"""Complaint analytics over HTTP: `GET /analytics/complaints` and `POST /admin/analyse`.

Both are plain FastAPI routes on the service's `info_app` (like `/model_info`), behind the same
guards (roles in `serving.settings.ROUTE_ROLES`). The summary they answer is built by
`serving.complaint_summary`, which `agora report complaints` renders too.

    GET /analytics/complaints?since=7d&until=2015-02-25&by=reason
    since: 7d | 36h | 90m (before `until`), an ISO date/time (UTC unless it says), or epoch s
    until: the same forms but relative; default now. by: reason | category | queue | item

`POST /admin/analyse {"until": epoch}` runs the spike analysis for the window ending then (the
replay benchmark calls it at each window boundary of simulated time); `{}` means now.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from data.store import Store, StoreError
from serving.complaint_analysis import (
    AlertWebhook,
    AnalysisSettings,
    analyse,
    start_periodic_analysis,
    webhook_of,
)
from serving.complaint_summary import (
    LATEST_EPOCH,
    AnalyticsInputError,
    complaint_summary,
    parse_time,
    time_zone,
)
from serving.errors import error_response, validation_text


@dataclass
class Analytics:
    """What the analytics routes need from a running service."""

    store: Store
    settings: AnalysisSettings
    webhook: AlertWebhook | None

    @classmethod
    def start(cls, store: Store) -> Analytics:
        """Read the settings from the environment and start the periodic analysis (if on)."""
        settings = AnalysisSettings.from_env()
        webhook = webhook_of(settings)
        start_periodic_analysis(store, settings, webhook=webhook)
        return cls(store, settings, webhook)


class AnalyseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: float | None = Field(
        None,
        strict=True,  # a number: `true` was read as 1 (1970), a window of no data
        ge=0,
        le=LATEST_EPOCH,
        allow_inf_nan=False,
        description="End of the analysed window (epoch s, floored); default now.",
    )


def analytics_router(current: Callable[[], Analytics | None]) -> APIRouter:
    """The routes, reading the running service's analytics through `current`."""
    router = APIRouter()

    @router.get("/analytics/complaints")
    def complaints(
        since: str = "7d", until: str | None = None, by: str = "reason", tz: str | None = None
    ) -> Response:
        """Daily complaint counts per group, negative share, top items, terms and alerts; days
        of the time zone `tz` (an IANA name such as Asia/Shanghai; default AGORA_ANALYTICS_TZ,
        else UTC)."""
        analytics = current()
        if analytics is None:
            return error_response(503, "the service is starting")
        try:
            zone = time_zone(tz)
            end = parse_time(until, "until", zone=zone) if until is not None else time.time()
            start = parse_time(since, "since", relative_to=end, zone=zone)
            return JSONResponse(complaint_summary(analytics.store, start, end, by, zone=zone))
        except (AnalyticsInputError, StoreError) as error:
            return error_response(400, str(error))

    @router.post("/admin/analyse")
    async def analyse_now(request: Request) -> Response:
        """Run the spike analysis for the window ending at `until` and raise its alerts."""
        analytics = current()
        if analytics is None:
            return error_response(503, "the service is starting")
        raw = await request.body()
        try:
            body = AnalyseRequest.model_validate_json(raw or b"{}")
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            return error_response(400, f"{where}: {validation_text(first['msg'])}")
        until = body.until if body.until is not None else time.time()
        result = await run_in_threadpool(
            analyse, analytics.store, until, analytics.settings, webhook=analytics.webhook
        )
        return JSONResponse(result)

    return router
