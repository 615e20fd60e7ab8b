"""The triage log: each recorded triage (text redacted) and the corrections agents make to it.

A triage recorded with a client's `idempotency_key` is recorded once: a retry finds the first
record (and its triage_id) instead of adding a contact, so retries never raise a customer's
urgency (their prior contacts are their distinct records). Corrections are idempotent by
`correction_id`; the retrain of a triage task reads the latest correction of each record. A key
or id sent again with different content is a conflict (StoreConflictError), never a silent
duplicate. The items a customer's triaged complaints named are read by feeds
(`data.events.blocked_items` decides that they block those items).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd
from sqlalchemy import Connection, Engine, Table, bindparam, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from data import schemas as S
from data.events import ENTITY_ID_LENGTH, FEED_ITEM_LIMIT, InvalidFieldError, check_identifier
from data.pii import Redaction, redact
from data.store.connection import StoreConflictError, StoreError, insert_into
from data.store.tables import (
    AGENT_LENGTH,
    CORRECTION_ID_LENGTH,
    FIELD_LENGTH,
    IDEMPOTENCY_KEY_LENGTH,
    LABEL_LENGTH,
    LANGUAGE_LENGTH,
    TRIAGE_ID_LENGTH,
    URGENCY_LENGTH,
    corrections,
    triage_records,
)

# The corrected field that says whether a triaged message is a complaint, and its labels (the
# engine offers exactly these two for it; the service stores them as the engine spells them).
IS_COMPLAINT_FIELD: Final = "is_complaint"
TRUE_LABEL: Final = "true"
FALSE_LABEL: Final = "false"
# The column of `TriageLog.corrected_texts` holding each correction's position in the log.
CORRECTION_SEQ: Final = "correction_seq"
# Whether the record's corrections of a field name more than one label (agents disagreed).
CORRECTION_DISPUTED: Final = "correction_disputed"
# What makes two corrections with one id the same correction (besides their triage_id).
_CORRECTION_CONTENT: Final = ("field", "correct_label", "agent")
# Characters a text column cannot hold (NUL, in PostgreSQL) or encode (lone surrogates):
# replaced in stored text, which is kept for retraining, not refused with the request.
_UNSTORABLE: Final = {0: "\ufffd", **{code: "\ufffd" for code in range(0xD800, 0xE000)}}


class UnknownTriageError(StoreError):
    """A correction names a triage record the store does not hold."""


class TriageLog:
    """Recorded triages and agents' corrections."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Every feed request reads this: built once, bound per call (see EventLog.__init__).
        self._complained = (
            select(triage_records.c.item_id)
            .where(
                triage_records.c.customer_id == bindparam("customer_id"),
                triage_records.c.item_id.is_not(None),
                is_complaint_after_corrections() == TRUE_LABEL,
            )
            .distinct()
            .limit(bindparam("limit"))
        )

    def record(
        self,
        text: str,
        outputs: Mapping[str, Any],
        model_versions: Mapping[str, str],
        language: str,
        is_complaint: bool,
        customer_id: str | None = None,
        item_id: str | None = None,
        idempotency_key: str | None = None,
        occurred_at: float | None = None,
    ) -> str:
        """Store a triage with its text redacted; return its triage_id.

        `occurred_at` (epoch seconds) is when the message was written, if the client knows it;
        analytics place the record there instead of at its arrival.

        With an `idempotency_key` (it needs a customer_id) a retry returns the first record's
        triage_id and stores nothing; the same key with another customer, item or text is a
        StoreConflictError.
        """
        _check_ids(
            customer_id=(customer_id, ENTITY_ID_LENGTH),
            item_id=(item_id, ENTITY_ID_LENGTH),
            idempotency_key=(idempotency_key, IDEMPOTENCY_KEY_LENGTH),
        )
        if idempotency_key is not None and customer_id is None:
            raise StoreError("an idempotency_key needs a customer_id (it keys a contact)")
        if len(language) > LANGUAGE_LENGTH:
            raise StoreError(f"language is {len(language)} characters; at most {LANGUAGE_LENGTH}")
        redaction = redact(text)
        row = {
            "triage_id": uuid.uuid4().hex,
            "customer_id": customer_id,
            "item_id": item_id,
            "redacted_text": _storable(redaction.text),
            "language": _storable(language),
            "is_complaint": bool(is_complaint),
            "outputs": _storable(
                json.dumps(_redact_strings(outputs, redaction), ensure_ascii=False, sort_keys=True)
            ),
            "model_versions": _storable(json.dumps(dict(model_versions), sort_keys=True)),
            "created_at": time.time(),
            "idempotency_key": idempotency_key,
            "occurred_at": occurred_at,
            **answer_columns(outputs),
        }
        # Unkeyed records (key NULL) never conflict; a keyed retry inserts nothing.
        statement = (
            insert_into(self.engine, triage_records)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(triage_records.c.triage_id)
        )
        with self.engine.begin() as connection:
            if connection.execute(statement, row).first() is not None:
                return str(row["triage_id"])
            return _first_record(connection, row)

    def prior_contacts(
        self, customer_id: str, idempotency_key: str | None = None, since: float | None = None
    ) -> int:
        """How many distinct triages of this customer precede this contact: all of their
        records (recorded at or after `since`, epoch seconds, when given), or, for a retry of a
        recorded `idempotency_key`, those before its first."""
        query = select(func.count()).where(triage_records.c.customer_id == customer_id)
        if since is not None:
            query = query.where(triage_records.c.created_at >= since)
        with self.engine.connect() as connection:
            if idempotency_key is not None:
                first = connection.execute(
                    select(triage_records.c.created_at).where(
                        triage_records.c.idempotency_key == idempotency_key,
                        triage_records.c.customer_id == customer_id,
                    )
                ).scalar_one_or_none()
                if first is not None:
                    query = query.where(triage_records.c.created_at < first)
            return int(connection.execute(query).scalar_one())

    def complained_items(self, customer_id: str, limit: int = FEED_ITEM_LIMIT) -> set[str]:
        """Items named by this customer's triaged complaints: at most `limit` distinct items,
        the same cap as a feed's other item sets (data.events.FEED_ITEM_LIMIT), far above what
        one customer complains about, so every complained item blocks. A complaint is what the
        model said unless an agent corrected `is_complaint` since: their latest correction
        decides."""
        bound = {"customer_id": customer_id, "limit": limit}
        with self.engine.connect() as connection:
            return {row[0] for row in connection.execute(self._complained, bound)}

    def language_of(self, triage_id: str) -> str | None:
        """The language of the triage record `triage_id`; None when the store holds no such
        record."""
        query = select(triage_records.c.language).where(triage_records.c.triage_id == triage_id)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()

    def add_correction(
        self,
        triage_id: str,
        field: str,
        correct_label: str,
        agent: str,
        correction_id: str | None = None,
    ) -> tuple[str, bool]:
        """Store an agent's correction; returns (correction_id, inserted). Idempotent by id:
        the same id with other content is a StoreConflictError."""
        correction_id = correction_id or uuid.uuid4().hex
        _check_ids(
            triage_id=(triage_id, TRIAGE_ID_LENGTH),
            field=(field, FIELD_LENGTH),
            correct_label=(correct_label, LABEL_LENGTH),
            agent=(agent, AGENT_LENGTH),
            correction_id=(correction_id, CORRECTION_ID_LENGTH),
        )
        row = {
            "correction_id": correction_id,
            "triage_id": triage_id,
            "field": field,
            "correct_label": correct_label,
            "agent": agent,
            "created_at": time.time(),
        }
        inserted = annotate_record(
            self.engine, corrections, "correction_id", row, ("triage_id", *_CORRECTION_CONTENT)
        )
        return correction_id, inserted

    def corrected_texts(self, field: str) -> pd.DataFrame:
        """The latest correction of `field` per triage record, with its redacted text, its
        position in the corrections log (`CORRECTION_SEQ`: a run's lineage records the last
        one it read) and whether earlier corrections of it named another label
        (`CORRECTION_DISPUTED`)."""
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
        columns = ["triage_id", S.TEXT, S.LABEL, S.LANGUAGE, CORRECTION_SEQ, CORRECTION_DISPUTED]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        # The latest label counts; a retrain says how many records it settled that way.
        labels = frame.groupby("triage_id")["correct_label"].transform("nunique")
        frame = frame.assign(**{CORRECTION_DISPUTED: labels > 1})
        frame = frame.drop_duplicates("triage_id", keep="last")
        renamed = {"redacted_text": S.TEXT, "correct_label": S.LABEL, "seq": CORRECTION_SEQ}
        return frame.rename(columns=renamed)[columns].reset_index(drop=True)


def label_after_corrections(field: str, model_label: ColumnElement[Any]) -> ColumnElement[Any]:
    """Per triage record, the latest correction an agent made to `field`, else `model_label`
    (what the model answered), in SQL correlated with `triage_records` in the enclosing query.
    Counting and grouping by it makes agents' corrections count wherever the store counts."""
    corrected = (
        select(corrections.c.correct_label)
        .where(
            corrections.c.triage_id == triage_records.c.triage_id,
            corrections.c.field == field,
        )
        .order_by(corrections.c.seq.desc())
        .limit(1)
        .correlate(triage_records)
        .scalar_subquery()
    )
    return func.coalesce(corrected, model_label)


def is_complaint_after_corrections() -> ColumnElement[str]:
    """Per triage record, "true" or "false": the latest `is_complaint` correction an agent made
    to it, else the model's verdict (see `label_after_corrections`)."""
    verdict = case((triage_records.c.is_complaint.is_(True), TRUE_LABEL), else_=FALSE_LABEL)
    return label_after_corrections(IS_COMPLAINT_FIELD, verdict)


def answer_columns(outputs: Mapping[str, Any]) -> dict[str, str | None]:
    """The triage's answers stored as columns beside its JSON: labels of sentiment, reason and
    category, the routing queue and the urgency level (None where the result has none)."""

    def part(key: str) -> Mapping[str, Any]:
        value = outputs.get(key)
        return value if isinstance(value, Mapping) else {}

    def bounded(value: Any, size: int) -> str | None:
        return _storable(str(value))[:size] if value is not None else None

    return {
        "sentiment": bounded(part("sentiment").get("label"), LABEL_LENGTH),
        "reason": bounded(part("reason").get("label"), LABEL_LENGTH),
        "category": bounded(part("category").get("label"), LABEL_LENGTH),
        "queue": bounded(part("routing").get("queue"), LABEL_LENGTH),
        "urgency": bounded(part("urgency").get("level"), URGENCY_LENGTH),
    }


def _check_ids(**values: tuple[str | None, int]) -> None:
    """StoreError unless each given (value, max_length) is a storable id (None: not given)."""
    for name, (value, max_length) in values.items():
        if value is not None:
            try:
                check_identifier(name, value, max_length)
            except InvalidFieldError as error:
                raise StoreError(str(error)) from None


def _storable(text: str) -> str:
    """`text` with the characters a text column cannot hold replaced."""
    return text.translate(_UNSTORABLE)


def _first_record(connection: Connection, row: Mapping[str, Any]) -> str:
    """The triage_id recorded first under `row`'s idempotency key, if it is the same contact."""
    key = row["idempotency_key"]
    same = ("customer_id", "item_id", "redacted_text")
    query = select(triage_records.c.triage_id, *(triage_records.c[name] for name in same))
    first = connection.execute(query.where(triage_records.c.idempotency_key == key)).one()
    if tuple(first[1:]) != tuple(row[name] for name in same):
        raise StoreConflictError(
            "idempotency_key already used for another customer, item or text", [key]
        )
    return str(first[0])


def annotate_record(
    engine: Engine,
    table: Table,
    id_column: str,
    row: Mapping[str, Any],
    content: tuple[str, ...],
) -> bool:
    """Insert an agent's `row` about a triage record (a correction) into `table`,
    idempotent by `id_column`; True when inserted. UnknownTriageError for a record the store
    does not hold; StoreConflictError when the id is stored with other `content` columns. The
    existence check and the insert share one transaction (one connection per request)."""
    statement = (
        insert_into(engine, table)
        .on_conflict_do_nothing(index_elements=[id_column])
        .returning(table.c[id_column])
    )
    records = triage_records.c
    known = select(records.triage_id).where(records.triage_id == row["triage_id"])
    unknown = UnknownTriageError(f"unknown triage_id '{row['triage_id']}'")
    try:
        with engine.begin() as connection:
            if connection.execute(known).first() is None:
                raise unknown
            if connection.execute(statement, row).first() is not None:
                return True
            stored = connection.execute(
                select(*(table.c[n] for n in content)).where(table.c[id_column] == row[id_column])
            ).one()
    except IntegrityError:
        # The record was erased (data.store.erasure) between the check and the insert: the
        # foreign key refused the row. Unknown now, as it would have been a moment later.
        with engine.connect() as connection:
            if connection.execute(known).first() is None:
                raise unknown from None
        raise
    if tuple(stored) != tuple(row[name] for name in content):
        raise StoreConflictError(
            f"{id_column} '{row[id_column]}' already stored with different content",
            [row[id_column]],
        )
    return False


# Keys of a triage result whose strings quote the text itself (the evidence terms).
_QUOTING_KEYS = frozenset({"evidence", "terms", "term"})


def _redact_strings(value: Any, found: Redaction, quoting: bool = False) -> Any:
    """Redact every string inside a JSON-like value.

    A string that quotes the text (an evidence term) is also replaced whole when it is part of
    something redacted from the text: "example" from "jo@example.com" has no shape of its own
    for `redact` to recognise.
    """
    if isinstance(value, str):
        return found.redact_term(value) if quoting else redact(value).text
    if isinstance(value, Mapping):
        return {k: _redact_strings(v, found, k in _QUOTING_KEYS) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v, found, quoting) for v in value]
    return value


def latest_corrections(connection: Any, ids: list[str]) -> dict[str, dict[str, str]]:
    """triage_id -> {field: the latest correct label} for the triages of `ids` that have any."""
    if not ids:
        return {}
    query = (
        select(corrections.c.triage_id, corrections.c.field, corrections.c.correct_label)
        .where(corrections.c.triage_id.in_(ids))
        .order_by(corrections.c.seq)
    )
    latest: dict[str, dict[str, str]] = {}
    for triage_id, name, label in connection.execute(query):
        latest.setdefault(triage_id, {})[name] = label  # later rows overwrite earlier ones
    return latest
