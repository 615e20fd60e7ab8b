"""The durable store: an event log and a triage log (with corrections) in one database.

    store = Store()                      # SQLite under AGORA_HOME, or AGORA_STORE_URL
    store.events.add([Event(...)])       # data.store.event_log
    store.triage.record(text, ...)       # data.store.triage_log
    store.segments.of(user_id)           # data.store.segments (the last segmentation run)
    store.resolutions.add(triage_id, ...)  # data.store.resolutions
    store.retirements.retire([item_id], by)  # data.store.item_retirements
    store.published.publish([PublishedItem(...)], by)  # data.store.published_items
    store.erasures.erase_user(user_id, by)  # data.store.erasure (a customer's erasure request)

The store holds data only; what an event means (its value, what blocks an item) and what the
store can hold are decided in `data.events` and `features.user_history`. Opening a store brings
its schema to the newest migration (`data.store.migrate`), once, however many processes start.
"""

from __future__ import annotations

from data.store.alerts import AlertLog
from data.store.case_queue import CaseQueue, QueuedCase
from data.store.complaint_counts import ComplaintCounts
from data.store.connection import (
    STORE_URL_ENV,
    StoreConflictError,
    StoreError,
    StoreUnavailableError,
    default_store_url,
    is_store_outage,
    open_engine,
)
from data.store.erasure import Erasures, InvalidErasureError
from data.store.event_log import Event, EventLog, StoredEvent, WriteResult
from data.store.item_retirements import (
    InvalidRetirementError,
    ItemRetirements,
    RetiredItem,
    RetirementChange,
)
from data.store.published_items import InvalidPublicationError, PublishedItem, PublishedItems
from data.store.resolutions import ResolutionLog, ResolvedCase
from data.store.segments import SegmentRow, StoredSegment, UserSegments
from data.store.triage_log import TriageLog, UnknownTriageError


class Store:
    """One database engine shared by the event log and the triage log."""

    def __init__(self, url: str | None = None, must_exist: bool = False) -> None:
        """`must_exist`: refuse (StoreError) a URL that holds no store yet rather than create
        an empty one (see `open_engine`)."""
        self.url = url or default_store_url()
        self.engine = open_engine(self.url, must_exist=must_exist)
        self.events = EventLog(self.engine)
        self.triage = TriageLog(self.engine)
        self.segments = UserSegments(self.engine)
        self.complaints = ComplaintCounts(self.engine)
        self.alerts = AlertLog(self.engine)
        self.resolutions = ResolutionLog(self.engine)
        self.queue = CaseQueue(self.engine)
        self.retirements = ItemRetirements(self.engine)
        self.published = PublishedItems(self.engine)
        self.erasures = Erasures(self.engine)


__all__ = [
    "STORE_URL_ENV",
    "CaseQueue",
    "Erasures",
    "Event",
    "EventLog",
    "InvalidErasureError",
    "InvalidPublicationError",
    "InvalidRetirementError",
    "ItemRetirements",
    "PublishedItem",
    "PublishedItems",
    "QueuedCase",
    "ResolutionLog",
    "ResolvedCase",
    "RetiredItem",
    "RetirementChange",
    "SegmentRow",
    "Store",
    "StoreConflictError",
    "StoreError",
    "StoreUnavailableError",
    "StoredEvent",
    "StoredSegment",
    "TriageLog",
    "UnknownTriageError",
    "UserSegments",
    "WriteResult",
    "default_store_url",
    "is_store_outage",
]
