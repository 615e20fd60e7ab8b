"""Complaint alerts, each raised once: the unique `alert_key` is the whole mechanism.

Whichever worker or analysis run inserts a key first raises the alert (and notifies); the others
find it stored and stay quiet. What the key is (one per spike episode) is decided by the caller
(`serving.complaint_analysis`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, select

from data.store.connection import StoreError, insert_into
from data.store.tables import (
    ALERT_KEY_LENGTH,
    DIMENSION_LENGTH,
    LABEL_LENGTH,
    complaint_alerts,
)

MAX_ALERTS: Final = 500  # per read


@dataclass(frozen=True)
class StoredAlert:
    alert_key: str
    dimension: str
    group_value: str
    window_start: float
    window_end: float
    details: dict[str, Any]
    created_at: float


class AlertLog:
    """Raised complaint alerts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def raise_once(
        self,
        alert_key: str,
        dimension: str,
        group_value: str,
        window_start: float,
        window_end: float,
        details: Mapping[str, Any],
    ) -> bool:
        """Store the alert unless its key is stored already; True if this call stored it."""
        if len(alert_key) > ALERT_KEY_LENGTH or len(dimension) > DIMENSION_LENGTH:
            raise StoreError(f"alert key or dimension too long ({alert_key[:80]!r})")
        row = {
            "alert_key": alert_key,
            "dimension": dimension,
            "group_value": group_value[:LABEL_LENGTH],
            "window_start": float(window_start),
            "window_end": float(window_end),
            "details": json.dumps(dict(details), sort_keys=True, default=str),
            "created_at": time.time(),
        }
        statement = (
            insert_into(self.engine, complaint_alerts)
            .on_conflict_do_nothing(index_elements=["alert_key"])
            .returning(complaint_alerts.c.alert_key)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement, row).first() is not None

    def between(self, since: float, until: float, limit: int = MAX_ALERTS) -> list[StoredAlert]:
        """Alerts whose window ends in (since, until], oldest first, at most `limit`."""
        c = complaint_alerts.c
        query = (
            select(
                c.alert_key,
                c.dimension,
                c.group_value,
                c.window_start,
                c.window_end,
                c.details,
                c.created_at,
            )
            .where(c.window_end > since, c.window_end <= until)
            .order_by(c.window_start, c.seq)
            .limit(max(0, min(limit, MAX_ALERTS)))
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            StoredAlert(r[0], r[1], r[2], float(r[3]), float(r[4]), json.loads(r[5]), float(r[6]))
            for r in rows
        ]
