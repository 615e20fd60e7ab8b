"""The event log: interaction events clients post, stored durably and exactly once.

A write returns only after its transaction committed, so an acknowledged event survives a crash.
Every event carries a client-chosen `event_id`; a retried batch inserts nothing twice (the
unique key plus ON CONFLICT DO NOTHING), which makes client retries safe. An `event_id` sent
again with different content is a conflict: the whole batch is refused (StoreConflictError),
never counted as a duplicate. What an event means for a feed or a retrain (its value, whether
it blocks an item) and what the log can hold are decided in `data.events`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Select, TextClause, bindparam, func, select, text

from data import schemas as S
from data.events import (
    BLOCKING_TYPES,
    DISLIKE_TYPE,
    EVENT_COLUMNS,
    EVENT_ID,
    EVENT_SEQ,
    EVENT_TYPE,
    EVENT_WEIGHT,
    FEED_HISTORY_LIMIT,
    FEED_ITEM_LIMIT,
    Event,
    InvalidFieldError,
    StoredEvent,
    UserItems,
    validate_event,
)
from data.store.connection import StoreConflictError, StoreError, insert_into
from data.store.tables import LIFTS_DISLIKE_SQL, VALUED_EVENT_SQL, events

logger = logging.getLogger(__name__)

# What must match for a re-sent event_id to be the same event (received_at is the store's own).
_CONTENT = ("user_id", "item_id", "type", "timestamp", "weight")
_TIMESTAMP = _CONTENT.index("timestamp")
_SHOWN_IDS = 10  # conflicting ids an error message lists


@dataclass(frozen=True)
class WriteResult:
    """What a batch did: events inserted, and events already stored with the same content."""

    inserted: int
    duplicates: int


class EventLog:
    """Append-only, idempotent log of interaction events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # The feed's reads, built once: a request binds values instead of building and
        # hashing a statement (most of a read's cost at feed rates).
        user, limit = bindparam("user_id"), bindparam("limit")
        self._newest = (
            self._select()
            .where(events.c.user_id == user)
            .order_by(events.c.seq.desc())
            .limit(limit)
        )
        self._seen = _ItemSet(VALUED_EVENT_SQL)
        self._complained = [_ItemSet(f"type = '{kind}'") for kind in sorted(BLOCKING_TYPES)]
        self._disliked = _disliked_items()

    def add(self, batch: Sequence[Event], stamped_on_receipt: Collection[str] = ()) -> WriteResult:
        """Insert a batch in one transaction; events already stored (same event_id, same
        content) are skipped. StoreError, with nothing written, for an event the log cannot
        hold; StoreConflictError for an event_id stored with different content.

        `stamped_on_receipt` names the events whose timestamp the receiver set (the client sent
        none): a retry of one is the same event whatever its new stamp, so their timestamps are
        left out of the comparison and the first receipt's is kept.
        """
        now = time.time()
        rows = [_event_row(e, now) for e in batch]
        if not rows:
            return WriteResult(0, 0)
        ids = [r["event_id"] for r in rows]
        if len(set(ids)) != len(ids):
            raise StoreError("a batch repeats an event_id; each event needs its own id")
        # RETURNING counts what was really inserted; rowcount is unreliable for executemany
        # with ON CONFLICT on some drivers (psycopg reports 0).
        statement = (
            insert_into(self.engine, events)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(events.c.event_id)
        )
        with self.engine.begin() as connection:
            inserted = {row[0] for row in connection.execute(statement, rows)}
            skipped = [r for r in rows if r["event_id"] not in inserted]
            conflicts = _conflicting_ids(connection, skipped, frozenset(stamped_on_receipt))
            if conflicts:  # raising rolls the whole batch back
                shown = ", ".join(conflicts[:_SHOWN_IDS])
                more = (
                    f" and {len(conflicts) - _SHOWN_IDS} more"
                    if len(conflicts) > _SHOWN_IDS
                    else ""
                )
                raise StoreConflictError(
                    f"{len(conflicts)} event_id(s) already stored with different content: "
                    f"{shown}{more}; nothing of this batch was written",
                    conflicts,
                )
        return WriteResult(len(inserted), len(skipped))

    def feed_events(self, user_id: str, limit: int = FEED_HISTORY_LIMIT) -> list[StoredEvent]:
        """A user's newest `limit` events, oldest first: what a feed folds into the model. What
        older events say about items (seen, complained about, disliked) is `user_items`."""
        with self.engine.connect() as connection:
            newest = connection.execute(self._newest, {"user_id": user_id, "limit": limit})
            return [StoredEvent(*row) for row in reversed(newest.all())]

    def user_items(self, user_id: str, limit: int = FEED_ITEM_LIMIT) -> UserItems:
        """What all of a user's events say about items (`data.events.UserItems`), each set at
        most `limit` distinct items, read from the indexes: at most `limit` rows and `limit`
        index seeks per set, however many events the user has."""
        bound = {"user_id": user_id, "limit": limit}
        with self.engine.connect() as connection:
            seen = self._seen.read(connection, user_id, limit)
            complained = frozenset[str]().union(
                *(items.read(connection, user_id, limit) for items in self._complained)
            )
            disliked = frozenset(row[0] for row in connection.execute(self._disliked, bound))
        for name, found in (("seen", seen), ("complained", complained), ("disliked", disliked)):
            if len(found) >= limit:
                logger.warning(
                    "user %r has %d or more %s items: a feed reads the first %d by id",
                    user_id,
                    limit,
                    name,
                    limit,
                )
        return UserItems(seen, complained, disliked)

    @staticmethod
    def _select() -> Select[Any]:
        """The columns of a StoredEvent, in its field order."""
        return select(
            events.c.event_id,
            events.c.user_id,
            events.c.item_id,
            events.c.type,
            events.c.timestamp,
            events.c.weight,
            events.c.seq,
        )

    def read(self, user_id: str | None = None) -> list[StoredEvent]:
        """Stored events (of one user, or all), oldest first: all of them, for a retrain or an
        inspection (a feed reads `feed_events`)."""
        query = self._select().order_by(events.c.seq)
        if user_id is not None:
            query = query.where(events.c.user_id == user_id)
        with self.engine.connect() as connection:
            return [StoredEvent(*row) for row in connection.execute(query)]

    def frame(self, user_id: str | None = None) -> pd.DataFrame:
        """`read` as a frame of EVENT_COLUMNS (for inspection and analysis)."""
        rows = [
            (e.user_id, e.item_id, e.type, e.weight, e.timestamp, e.event_id, e.seq)
            for e in self.read(user_id)
        ]
        return pd.DataFrame(rows, columns=EVENT_COLUMNS).astype(
            {
                S.USER_ID: str,
                S.ITEM_ID: str,
                EVENT_TYPE: str,
                EVENT_WEIGHT: "float64",
                S.TIMESTAMP: "int64",
                EVENT_ID: str,
                EVENT_SEQ: "int64",
            }
        )

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(events)).scalar_one())


def _distinct_items(where: str) -> str:
    """SQL opening with the CTE `found(item_id, n)`: the distinct items after :after of
    :user_id's events matching `where`, in item order, at most :limit of them.

    A loose index scan: each next item is one index seek past the last one found. A DISTINCT
    scan (SQLite's, PostgreSQL's) would visit every matching event of the user, so a user
    with a million views of a few items would cost a million rows; this costs a few seeks.
    """
    first = (
        f"SELECT item_id FROM events WHERE user_id = :user_id AND {where} "
        "AND item_id > :after ORDER BY item_id LIMIT 1"
    )
    following = (
        f"SELECT events.item_id FROM events WHERE events.user_id = :user_id AND {where} "
        "AND events.item_id > found.item_id ORDER BY events.item_id LIMIT 1"
    )
    return (
        f"WITH RECURSIVE found(item_id, n) AS (SELECT ({first}), 1 UNION ALL "
        f"SELECT ({following}), found.n + 1 FROM found "
        "WHERE found.item_id IS NOT NULL AND found.n < :limit) "
        "SELECT found.item_id FROM found WHERE found.item_id IS NOT NULL"
    )


class _ItemSet:
    """The distinct items of a user's events matching a predicate, at most a limit of them.

    Read in two steps, each bounded by the limit: first the matching rows in item order (one
    index range, the cheap way for nearly every user: their events are fewer than the limit),
    then, only when that read was full, a loose index scan (`_distinct_items`) past its last
    item: a seek per further item, however many events repeat them. The loose scan alone costs
    a round of PostgreSQL's executor per item (see the README's measured figures), too much to
    pay for every item of every feed request.
    """

    def __init__(self, where: str) -> None:
        self._rows = text(
            f"SELECT item_id FROM events WHERE user_id = :user_id AND {where} "
            "ORDER BY item_id LIMIT :limit"
        )
        self._after = text(_distinct_items(where))

    def read(self, connection: Connection, user_id: str, limit: int) -> frozenset[str]:
        bound = {"user_id": user_id, "limit": limit}
        rows = connection.execute(self._rows, bound).scalars().all()
        found = set(rows)
        if len(rows) == limit and len(found) < limit:  # more events than were read
            bound.update(after=rows[-1], limit=limit - len(found))
            found.update(row[0] for row in connection.execute(self._after, bound))
        return frozenset(found)


def _unlifted_dislike() -> str:
    """SQL, true when :user_id has a dislike of `found.item_id` that no lifting event followed
    in time (of the same second: later in the log), as `data.events.user_items` orders them.

    Each side is an index range of one user's events about one item (the dislikes, then the
    events worth a like: `LIFTS_DISLIKE_SQL`, the predicate of an index holding only those),
    a few rows for anyone; timestamps rather than log positions, because a client that was
    offline sends old events late.
    """
    return (
        "EXISTS (SELECT 1 FROM events AS dislike WHERE dislike.user_id = :user_id "
        f"AND dislike.type = '{DISLIKE_TYPE}' AND dislike.item_id = found.item_id "
        "AND NOT EXISTS (SELECT 1 FROM events WHERE events.user_id = :user_id "
        f"AND events.item_id = found.item_id AND {LIFTS_DISLIKE_SQL} "
        "AND (events.timestamp > dislike.timestamp "
        "OR (events.timestamp = dislike.timestamp AND events.seq > dislike.seq))))"
    )


def _disliked_items() -> TextClause:
    """The items a user disliked whose latest dislike no later event lifted
    (`data.events.disliked_items`)."""
    dislike = f"type = '{DISLIKE_TYPE}'"
    # Item ids are non-empty: every one sorts after "".
    return text(f"{_distinct_items(dislike)} AND {_unlifted_dislike()}").bindparams(after="")


def _event_row(e: Event, now: float) -> dict[str, Any]:
    try:
        validate_event(e, now)
    except InvalidFieldError as error:
        raise StoreError(str(error)) from None
    return {
        "event_id": e.event_id,
        "user_id": e.user_id,
        "item_id": e.item_id,
        "type": e.type,
        "timestamp": int(e.timestamp),
        "weight": float(e.weight),
        "received_at": now,
    }


def _conflicting_ids(
    connection: Connection, skipped: Sequence[Mapping[str, Any]], stamped: frozenset[str]
) -> list[str]:
    """The skipped rows' event_ids whose stored event differs from the row sent (the timestamp
    not compared for the ids in `stamped`, which the receiver set)."""
    if not skipped:
        return []
    columns = [events.c.event_id, *(events.c[name] for name in _CONTENT)]
    query = select(*columns).where(events.c.event_id.in_([r["event_id"] for r in skipped]))
    stored = {row[0]: tuple(row[1:]) for row in connection.execute(query)}
    return [r["event_id"] for r in skipped if not _same(stored.get(r["event_id"]), r, stamped)]


def _same(stored: tuple[Any, ...] | None, row: Mapping[str, Any], stamped: frozenset[str]) -> bool:
    if stored is None:
        return False
    sent = tuple(row[name] for name in _CONTENT)
    if row["event_id"] in stamped:
        stored, sent = (
            stored[:_TIMESTAMP] + stored[_TIMESTAMP + 1 :],
            sent[:_TIMESTAMP] + sent[_TIMESTAMP + 1 :],
        )
    return stored == sent
