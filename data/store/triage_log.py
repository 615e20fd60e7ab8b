"""The triage log: each recorded triage (text redacted) and the corrections agents make to it.

Corrections are idempotent by `correction_id`; the retrain of a triage task reads the latest
correction of each record. The items a customer's triaged complaints named are read by feeds
(`data.events.blocked_items` decides that they block those items).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from data import schemas as S
from data.pii import redact
from data.store.connection import StoreError, insert_into
from data.store.tables import corrections, triage_records


class UnknownTriageError(StoreError):
    """A correction names a triage record the store does not hold."""


class TriageLog:
    """Recorded triages and agents' corrections."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        text: str,
        outputs: Mapping[str, Any],
        model_versions: Mapping[str, str],
        language: str,
        is_complaint: bool,
        customer_id: str | None = None,
        item_id: str | None = None,
    ) -> str:
        """Store a triage with its text redacted; return the new triage_id."""
        triage_id = uuid.uuid4().hex
        row = {
            "triage_id": triage_id,
            "customer_id": customer_id,
            "item_id": item_id,
            "redacted_text": redact(text).text,
            "language": language,
            "is_complaint": bool(is_complaint),
            "outputs": json.dumps(_redact_strings(outputs), ensure_ascii=False, sort_keys=True),
            "model_versions": json.dumps(dict(model_versions), sort_keys=True),
            "created_at": time.time(),
        }
        with self.engine.begin() as connection:
            connection.execute(triage_records.insert(), row)
        return triage_id

    def prior_contacts(self, customer_id: str) -> int:
        query = select(func.count()).where(triage_records.c.customer_id == customer_id)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def complained_items(self, customer_id: str) -> set[str]:
        """Items named by this customer's triaged complaints."""
        query = select(triage_records.c.item_id).where(
            triage_records.c.customer_id == customer_id,
            triage_records.c.item_id.is_not(None),
            triage_records.c.is_complaint.is_(True),
        )
        with self.engine.connect() as connection:
            return {row[0] for row in connection.execute(query)}

    def add_correction(
        self,
        triage_id: str,
        field: str,
        correct_label: str,
        agent: str,
        correction_id: str | None = None,
    ) -> tuple[str, bool]:
        """Store an agent's correction; returns (correction_id, inserted). Idempotent by id."""
        for name, value in {"field": field, "correct_label": correct_label, "agent": agent}.items():
            if not value or not value.strip():
                raise StoreError(f"{name} must not be empty")
        correction_id = correction_id or uuid.uuid4().hex
        row = {
            "correction_id": correction_id,
            "triage_id": triage_id,
            "field": field,
            "correct_label": correct_label,
            "agent": agent,
            "created_at": time.time(),
        }
        statement = (
            insert_into(self.engine, corrections)
            .on_conflict_do_nothing(index_elements=["correction_id"])
            .returning(corrections.c.correction_id)
        )
        # The existence check and the insert share one transaction (one connection per request).
        with self.engine.begin() as connection:
            exists = connection.execute(
                select(triage_records.c.triage_id).where(triage_records.c.triage_id == triage_id)
            ).first()
            if exists is None:
                raise UnknownTriageError(f"unknown triage_id '{triage_id}'")
            inserted = connection.execute(statement, row).first() is not None
        return correction_id, inserted

    def corrected_texts(self, field: str) -> pd.DataFrame:
        """The latest correction of `field` per triage record, with its redacted text."""
        query = (
            select(
                triage_records.c.triage_id,
                triage_records.c.redacted_text,
                triage_records.c.language,
                corrections.c.correct_label,
                corrections.c.seq,
            )
            .join(corrections, corrections.c.triage_id == triage_records.c.triage_id)
            .where(corrections.c.field == field)
            .order_by(corrections.c.seq)
        )
        with self.engine.connect() as connection:
            frame = pd.DataFrame(connection.execute(query).mappings().all())
        if frame.empty:
            return pd.DataFrame(columns=["triage_id", S.TEXT, S.LABEL, S.LANGUAGE])
        frame = frame.drop_duplicates("triage_id", keep="last")
        return frame.rename(columns={"redacted_text": S.TEXT, "correct_label": S.LABEL})[
            ["triage_id", S.TEXT, S.LABEL, S.LANGUAGE]
        ].reset_index(drop=True)


def _redact_strings(value: Any) -> Any:
    """Redact every string inside a JSON-like value (evidence terms can quote the text)."""
    if isinstance(value, str):
        return redact(value).text
    if isinstance(value, Mapping):
        return {k: _redact_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v) for v in value]
    return value
