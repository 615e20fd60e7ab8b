"""The catalog routes' work after the store: items published after training embedded, and
retirements read back, before the answer, so this worker's next feed already follows them."""

from __future__ import annotations

from data.store import PublishedItem, Store
from models.recommenders import RetiredItems
from serving.fresh_items import ServedFreshItems
from serving.retired_items import ServedRetirements
from serving.schemas.items import ItemsChangedResponse, PublishItemsRequest, PublishItemsResponse


def published_items(request: PublishItemsRequest) -> list[PublishedItem]:
    """The request's items as the store holds them (a repeated genre once, in order)."""
    return [
        PublishedItem(i.item_id, i.title, i.text, tuple(dict.fromkeys(i.genres)))
        for i in request.items
    ]


def publish(
    store: Store, fresh: ServedFreshItems, items: list[PublishedItem], agent: str
) -> PublishItemsResponse:
    """Store `items` and embed them (blocking: the service runs this on a thread of its own)."""
    stored, unchanged = store.published.publish(items, agent)
    fresh.catch_up()  # embedded before the answer: this worker's next feed has them
    current = fresh.current()
    return PublishItemsResponse(
        stored=list(stored), unchanged=list(unchanged), fresh_now=len(current) if current else 0
    )


def items_changed(
    retirements: ServedRetirements, changed: tuple[str, ...], unchanged: tuple[str, ...]
) -> ItemsChangedResponse:
    """The answer to a retirement or restoration the store has recorded."""
    # Read the change back before answering: this worker's next feed already follows it.
    retirements.catch_up()
    retired: RetiredItems = retirements.current()
    return ItemsChangedResponse(
        changed=list(changed), unchanged=list(unchanged), retired_now=len(retired)
    )
