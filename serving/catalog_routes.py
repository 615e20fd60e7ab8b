"""`GET /items/retired`: which items are retired now, why, by whose key and since when.

A platform reconciles its own takedowns with the service's (after an outage of its own, or to
audit who retired what) by paging through this list in the order the items were retired:
`after` is the `seq` of the last item of the previous page (`next_after`). Retiring and
restoring are the BentoML routes `/items/retire` and `/items/restore` (serving.service).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from data.store import Store
from data.store.item_retirements import MAX_LISTED

RETIRED_ROUTE = "/items/retired"
# The largest `seq` a store column holds (a signed 64-bit integer): past it the database itself
# refused the query, a 500.
MAX_SEQ = 2**63 - 1


class RetiredItemOut(BaseModel):
    item_id: str
    reason: str | None
    changed_by: str = Field(description="The name of the API key that retired it.")
    retired_at: float = Field(description="Epoch seconds.")
    seq: int = Field(description="Its place in the retirement log: page on with `after`.")


class RetiredItemsPage(BaseModel):
    items: list[RetiredItemOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null when this page is the last."
    )


class CatalogSource(Protocol):
    store: Store


def install_catalog_routes(app: FastAPI, running: Callable[[], CatalogSource | None]) -> None:
    """Add GET RETIRED_ROUTE to `app`; `running` gives the service instance (None: starting)."""

    @app.get(RETIRED_ROUTE, response_model=RetiredItemsPage)
    def retired_items(
        after: int = Query(
            0, ge=0, le=MAX_SEQ, description="The `seq` of the last item already read."
        ),
        limit: int = Query(100, ge=1, le=MAX_LISTED),
    ) -> RetiredItemsPage:
        """The items retired now, oldest retirement first, `limit` at most per page."""
        service = running()
        if service is None:
            raise HTTPException(503, "the service is starting")
        rows = service.store.retirements.listing(after, limit + 1)
        page = [RetiredItemOut.model_construct(**vars(row)) for row in rows[:limit]]
        more = len(rows) > limit
        return RetiredItemsPage(items=page, next_after=page[-1].seq if more else None)
