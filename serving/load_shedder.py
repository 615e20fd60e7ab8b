"""A per-worker in-flight limit: past it a request is refused at once with a 503 and
`Retry-After`, instead of waiting in a queue that turns into timeouts."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from serving import ops_metrics
from serving.errors import reject
from serving.settings import (
    BATCH_PATHS,
    UNSHED_PATHS,
    max_batches_in_flight,
    max_in_flight,
    route_of,
)


class LoadShedder:
    """503 + `Retry-After: 1` at once when this worker already serves `limit` requests.

    A client (or load balancer) retries elsewhere or later; queueing instead would turn a burst
    into timeouts for everyone. Health and metrics are never shed. Batch routes (`BATCH_PATHS`)
    have their own budget, `batch_limit`, and take none of the others': a flood of 300-text
    batches took every slot and feeds were shed or waited seconds behind them.
    """

    def __init__(self, app: ASGIApp, limit: int | None = None, batch_limit: int | None = None):
        self.app = app
        self.limit = limit if limit is not None else max_in_flight()
        self.batch_limit = batch_limit if batch_limit is not None else max_batches_in_flight()
        self.in_flight = 0  # one event loop per worker: no lock needed
        self.batches_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNSHED_PATHS:
            await self.app(scope, receive, send)
            return
        batch = scope["path"] in BATCH_PATHS
        busy, limit = (
            (self.batches_in_flight, self.batch_limit) if batch else (self.in_flight, self.limit)
        )
        if busy >= limit:
            ops_metrics.shed(route_of(scope["path"]) or scope["path"])
            what = "batch requests" if batch else "requests"
            await reject(
                scope,
                receive,
                send,
                503,
                f"the service is at its limit of {limit} {what} in flight: retry shortly",
                code="overloaded",
                headers={"Retry-After": "1"},
            )
            return
        self._count(batch, +1)
        try:
            await self.app(scope, receive, send)
        finally:
            self._count(batch, -1)

    def _count(self, batch: bool, change: int) -> None:
        if batch:
            self.batches_in_flight += change
        else:
            self.in_flight += change
