"""The tables of the durable store: interaction events, triage records, agents' corrections,
resolutions of triaged cases, complaint alerts, users' segments, item retirements, items
published after training, and the erasures of customers' data (with the cases they took out of
the knowledge base).

These are the schema at the newest migration (`data/store/migrations/versions`): a change here
needs a new revision there, and `tests/data/test_store_migrations.py` checks that both agree.
Column sizes are named constants so the checks made before a write (`data.events.validate_event`,
`data.store.triage_log`) refuse exactly what a column cannot hold.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)

from data.events import (
    DISLIKE_LIFT_VALUE,
    ENTITY_ID_LENGTH,
    EVENT_ID_LENGTH,
    EVENT_TYPE_LENGTH,
    IMPLICIT_VALUES,
    RATING_TYPE,
)

TRIAGE_ID_LENGTH: Final = 64
CORRECTION_ID_LENGTH: Final = 64
LANGUAGE_LENGTH: Final = 16
FIELD_LENGTH: Final = 64
LABEL_LENGTH: Final = 256
AGENT_LENGTH: Final = 256
IDEMPOTENCY_KEY_LENGTH: Final = 128
RESOLUTION_ID_LENGTH: Final = 64
OUTCOME_LENGTH: Final = 32
URGENCY_LENGTH: Final = 16
DIMENSION_LENGTH: Final = 32
ALERT_KEY_LENGTH: Final = 512
SEGMENT_LENGTH: Final = 64
RUN_ID_LENGTH: Final = 64
RETIREMENT_REASON_LENGTH: Final = 200  # a moderation code or a short note, not a case file
PUBLISHED_TITLE_LENGTH: Final = 300
PUBLISHED_TEXT_LENGTH: Final = 2000  # what the content encoder reads of an item (item_text)
PUBLISHED_GENRES_LENGTH: Final = 1400  # 20 genres of up to 64 characters, "|"-joined
ERASURE_KIND_LENGTH: Final = 16  # "user" (one customer's request) or "retention" (a prune run)
SHA256_HEX_LENGTH: Final = 64


def _event_value_sql() -> str:
    """`data.events.event_value` in SQL over an events row (0 for the negative types), built
    from the same constants so the store and the feed value an event alike."""
    implicit = " ".join(
        f"WHEN '{kind}' THEN {value!r} * weight" for kind, value in IMPLICIT_VALUES.items()
    )
    return f"CASE type {implicit} WHEN '{RATING_TYPE}' THEN weight ELSE 0.0 END"


# The predicates of the events' partial indexes (`data.events.has_value`, `lifts_dislike`). A
# query uses such an index only when it repeats the predicate word for word (SQLite's rule), so
# `data.store.event_log` writes these very strings into its queries.
VALUED_EVENT_SQL: Final = f"{_event_value_sql()} > 0.0"
LIFTS_DISLIKE_SQL: Final = f"{_event_value_sql()} >= {DISLIKE_LIFT_VALUE!r}"


def _partial(where: str) -> dict[str, object]:
    """The keyword arguments of an Index holding only the rows `where` selects."""
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(EVENT_ID_LENGTH), nullable=False, unique=True),
    Column("user_id", String(ENTITY_ID_LENGTH), nullable=False),
    Column("item_id", String(ENTITY_ID_LENGTH), nullable=False),
    Column("type", String(EVENT_TYPE_LENGTH), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("weight", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    # A feed reads a user's newest events (ORDER BY seq DESC LIMIT n) and their item sets
    # (data.events.UserItems); each read is answered from an index, a set one seek per item
    # (data.store.event_log), never visiting the user's other rows.
    Index("ix_events_user_seq", "user_id", "seq"),
    # Items complained about or disliked, and each disliked item's latest dislike.
    Index("ix_events_user_type_item", "user_id", "type", "item_id", "seq"),
    # Items seen: only events with value are indexed.
    Index("ix_events_user_item_valued", "user_id", "item_id", **_partial(VALUED_EVENT_SQL)),
    # The events that would lift a dislike of an item: only such events are indexed.
    Index(
        "ix_events_user_item_lifting", "user_id", "item_id", "seq", **_partial(LIFTS_DISLIKE_SQL)
    ),
    # Numbers are followed by readers: SQLite must never hand one out twice (0011).
    sqlite_autoincrement=True,
)

triage_records = Table(
    "triage_records",
    metadata,
    Column("triage_id", String(TRIAGE_ID_LENGTH), primary_key=True),
    Column("customer_id", String(ENTITY_ID_LENGTH), nullable=True),
    Column("item_id", String(ENTITY_ID_LENGTH), nullable=True),
    Column("redacted_text", Text, nullable=False),
    Column("language", String(LANGUAGE_LENGTH), nullable=False),
    Column("is_complaint", Boolean, nullable=False),
    Column("outputs", Text, nullable=False),  # JSON of the triage result (redacted)
    Column("model_versions", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False),
    # The client's key for one contact: a retried request finds its first record by it.
    Column("idempotency_key", String(IDEMPOTENCY_KEY_LENGTH), nullable=True),
    # When the message was written (a client may forward an older message); NULL: created_at.
    Column("occurred_at", Float, nullable=True),
    # The triage's answers as columns (also inside `outputs`), so complaint analytics group and
    # count in the database instead of parsing every record's JSON. NULL: no such answer.
    Column("sentiment", String(LABEL_LENGTH), nullable=True),
    Column("reason", String(LABEL_LENGTH), nullable=True),
    Column("category", String(LABEL_LENGTH), nullable=True),
    Column("queue", String(LABEL_LENGTH), nullable=True),
    Column("urgency", String(URGENCY_LENGTH), nullable=True),
    Index("ix_triage_customer", "customer_id"),
    Index("ux_triage_idempotency_key", "idempotency_key", unique=True),
    Index("ix_triage_created", "created_at"),
    Index("ix_triage_occurred", "occurred_at"),
    # A record's message time (`occurred_at`, else its arrival): analytics read a range of it.
    # Without it a range of message times was read as "occurred_at in range, or occurred_at
    # NULL and created_at in range", and the NULL half visited every record the clients sent
    # without a time, so each count read the whole history however short its range.
    Index("ix_triage_message_time", func.coalesce(text("occurred_at"), text("created_at"))),
)

corrections = Table(
    "corrections",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("correction_id", String(CORRECTION_ID_LENGTH), nullable=False, unique=True),
    Column(
        "triage_id",
        String(TRIAGE_ID_LENGTH),
        ForeignKey("triage_records.triage_id"),
        nullable=False,
    ),
    Column("field", String(FIELD_LENGTH), nullable=False),
    Column("correct_label", String(LABEL_LENGTH), nullable=False),
    Column("agent", String(AGENT_LENGTH), nullable=False),
    Column("created_at", Float, nullable=False),
    # A feed reads the latest is_complaint correction of each of its user's complaints.
    Index("ix_corrections_triage_field", "triage_id", "field", "seq"),
    # Numbers are followed by readers: SQLite must never hand one out twice (0011).
    sqlite_autoincrement=True,
)

resolutions = Table(
    "resolutions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("resolution_id", String(RESOLUTION_ID_LENGTH), nullable=False, unique=True),
    Column(
        "triage_id",
        String(TRIAGE_ID_LENGTH),
        ForeignKey("triage_records.triage_id"),
        nullable=False,
    ),
    Column("redacted_resolution", Text, nullable=False),
    Column("outcome", String(OUTCOME_LENGTH), nullable=False),
    Column("agent", String(AGENT_LENGTH), nullable=False),
    Column("created_at", Float, nullable=False),
    # The resolution's place among its case's (1 for the first). Unique per case: of two agents
    # resolving one case at once, the database keeps one resolution and refuses the other.
    Column("ordinal", Integer, nullable=False),
    Index("ux_resolutions_triage_ordinal", "triage_id", "ordinal", unique=True),
    # Numbers are followed by readers: SQLite must never hand one out twice (0011).
    sqlite_autoincrement=True,
)

# One row per raised alert: the unique key (dimension, group, window) is what makes a spike
# alert once however many workers or analysis runs see it.
complaint_alerts = Table(
    "complaint_alerts",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("alert_key", String(ALERT_KEY_LENGTH), nullable=False, unique=True),
    Column("dimension", String(DIMENSION_LENGTH), nullable=False),
    Column("group_value", String(LABEL_LENGTH), nullable=False),
    Column("window_start", Float, nullable=False),
    Column("window_end", Float, nullable=False),
    Column("details", Text, nullable=False),  # JSON: counts, baseline, test, p-values
    Column("created_at", Float, nullable=False),
    Index("ix_alerts_group_end", "dimension", "group_value", "window_end"),
)

user_segments = Table(
    "user_segments",
    metadata,
    Column("user_id", String(ENTITY_ID_LENGTH), primary_key=True),
    Column("segment", String(SEGMENT_LENGTH), nullable=False),
    Column("details", Text, nullable=False),  # JSON: the features the tier was decided from
    Column("run_id", String(RUN_ID_LENGTH), nullable=False),
    Column("computed_at", Float, nullable=False),
)

# One row per change of an item's place in the served catalog (retired or restored), never
# updated: the item's state is its row with the highest seq (data.store.item_retirements).
item_retirements = Table(
    "item_retirements",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(ENTITY_ID_LENGTH), nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("reason", String(RETIREMENT_REASON_LENGTH), nullable=True),
    Column("changed_by", String(AGENT_LENGTH), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_item_retirements_item_seq", "item_id", "seq"),
)

# One row per publication (or edit) of an item the platform added after training, never
# updated: the item's description is its row with the highest seq (data.store.published_items).
published_items = Table(
    "published_items",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(ENTITY_ID_LENGTH), nullable=False),
    Column("title", String(PUBLISHED_TITLE_LENGTH), nullable=False),
    Column("text", Text, nullable=False),
    Column("genres", String(PUBLISHED_GENRES_LENGTH), nullable=False),  # "|"-joined
    Column("published_by", String(AGENT_LENGTH), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_published_items_item_seq", "item_id", "seq"),
)

# One row per erasure: a customer's erasure request (`kind` "user") or a retention run
# ("retention"), never updated. The customer's id is kept only as its SHA-256
# (`subject_sha256`), so an auditor holding the id can confirm it was erased; `counts` says what
# went (data.store.erasure).
erasures = Table(
    "erasures",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(ERASURE_KIND_LENGTH), nullable=False),
    Column("requested_by", String(AGENT_LENGTH), nullable=False),
    Column("subject_sha256", String(SHA256_HEX_LENGTH), nullable=True),  # NULL: retention run
    Column("counts", Text, nullable=False),  # JSON: table -> rows deleted
    Column("parameters", Text, nullable=True),  # JSON: a retention run's cut-offs
    Column("created_at", Float, nullable=False),
    # The events log's highest `seq` when a user was erased (NULL: a retention run). A model
    # whose training read the log beyond it was trained without the user's events; a model that
    # did not must not personalise for them (`Erasures.forgets`).
    Column("events_seq", BigInteger, nullable=True),
    Index("ix_erasures_subject", "subject_sha256"),
)

# One row per erased triage record that had a resolution, so every service worker drops the case
# from its in-memory knowledge base (followed by `seq`, as resolutions are). Triage ids are
# random, not personal: the row says only that some case is gone.
erased_cases = Table(
    "erased_cases",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("triage_id", String(TRIAGE_ID_LENGTH), nullable=False),
    Column("erased_at", Float, nullable=False),
)
