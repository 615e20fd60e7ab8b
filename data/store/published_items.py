"""Published items: items a platform added after the recommender was trained.

A platform publishes content all the time; a model knows only the items it was fitted on. An
item published here (id, title, free text, genres) is embedded by the served content encoder in
every worker and served as a fresh item (see `serving.fresh_items`) until a retrained model
knows it. The table is a log, one row per publication or edit, never updated: an item's
description is its latest row; publishing what an item already says writes nothing.

Readers follow it like the retirement log (`follower`, `items_at`: each touched item's latest
row, so a late row never undoes a newer edit); a retrain reads every item's latest description
(`latest_all`) and adds them to the catalog it trains on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, Row, func, select

from data import schemas as S
from data.events import ENTITY_ID_LENGTH, InvalidFieldError, check_identifier, check_stored_text
from data.store.connection import StoreError
from data.store.follow import MAX_BATCH, SeqFollower
from data.store.item_logs import latest_rows
from data.store.tables import (
    AGENT_LENGTH,
    PUBLISHED_TEXT_LENGTH,
    PUBLISHED_TITLE_LENGTH,
    published_items,
)

MAX_PUBLISHED_PER_CALL: Final = 100  # items per publish call: one bounded transaction
MAX_GENRES: Final = 20
GENRE_LENGTH: Final = 64

_T = published_items.c


class InvalidPublicationError(StoreError):
    """An item the log refuses: a bad id, a missing or oversized title, text or genre."""


@dataclass(frozen=True)
class PublishedItem:
    """One published item as its latest row says: the text the content encoder reads is
    assembled from title, genres and text (`features.item_text`)."""

    item_id: str
    title: str
    text: str = ""
    genres: tuple[str, ...] = ()
    published_at: float = 0.0
    seq: int = 0

    def content(self) -> tuple[str, str, tuple[str, ...]]:
        """What a re-publication is compared on."""
        return self.title, self.text, self.genres


# Control characters other than tabs and line breaks: a text is prose, possibly paragraphs.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(text: str) -> str | None:
    """Why an item's free text cannot be stored, or None."""
    if not isinstance(text, str):
        return "text must be a string"
    if len(text) > PUBLISHED_TEXT_LENGTH:
        return (
            f"text is {len(text):,} characters long; at most {PUBLISHED_TEXT_LENGTH:,} are stored"
        )
    if (found := _CONTROL.search(text)) is not None:
        return (
            f"text holds the control character U+{ord(found.group()):04X} at {found.start()}: "
            "only tabs and line breaks may be in it"
        )
    return None


def check_published(item: PublishedItem) -> PublishedItem:
    """`item` if the log can hold it; InvalidPublicationError naming the field otherwise."""
    try:
        check_identifier("item_id", item.item_id, ENTITY_ID_LENGTH)
        check_stored_text("title", item.title, PUBLISHED_TITLE_LENGTH)
        if (problem := text_problem(item.text)) is not None:
            raise InvalidFieldError(problem)
        if len(item.genres) > MAX_GENRES:
            raise InvalidFieldError(f"genres holds {len(item.genres)}; at most {MAX_GENRES}")
        for genre in item.genres:
            check_stored_text("genre", genre, GENRE_LENGTH)
            if S.TAG_SEPARATOR in genre:
                raise InvalidFieldError(f"a genre must not contain '{S.TAG_SEPARATOR}'")
    except InvalidFieldError as error:
        raise InvalidPublicationError(str(error)) from None
    return item


class PublishedItems:
    """The log of published items (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def publish(
        self, items: Sequence[PublishedItem], published_by: str
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Store `items` (at most MAX_PUBLISHED_PER_CALL; an id given twice keeps its last);
        returns the ids stored and the ids whose latest row already said the same."""
        if not items:
            raise InvalidPublicationError("items is empty: publish at least one item")
        if len(items) > MAX_PUBLISHED_PER_CALL:
            raise InvalidPublicationError(
                f"items holds {len(items)}; at most {MAX_PUBLISHED_PER_CALL} per call"
            )
        last = {item.item_id: check_published(item) for item in items}
        try:
            check_identifier("published_by", published_by, AGENT_LENGTH)
        except InvalidFieldError as error:
            raise InvalidPublicationError(str(error)) from None
        now = time.time()
        with self.engine.begin() as connection:
            current = _latest(connection, list(last))
            changed = [
                item
                for item_id, item in last.items()
                if item_id not in current or current[item_id].content() != item.content()
            ]
            if changed:
                rows = [
                    {
                        "item_id": item.item_id,
                        "title": item.title,
                        "text": item.text,
                        "genres": S.TAG_SEPARATOR.join(item.genres),
                        "published_by": published_by,
                        "created_at": now,
                    }
                    for item in changed
                ]
                connection.execute(published_items.insert(), rows)
        stored = {item.item_id for item in changed}
        return tuple(i for i in last if i in stored), tuple(i for i in last if i not in stored)

    def follower(self) -> SeqFollower:
        """A reader's position in the log (see `data.store.follow`): read the items its numbers
        changed with `items_at`."""
        return SeqFollower(self.engine, _T.seq)

    def items_at(self, seqs: Collection[int]) -> list[PublishedItem]:
        """The latest description of each item that rows `seqs` touched (at most MAX_BATCH)."""
        if len(seqs) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} publications per read, got {len(seqs)}")
        if not seqs:
            return []
        with self.engine.connect() as connection:
            touched = connection.execute(
                select(_T.item_id).where(_T.seq.in_(list(seqs))).distinct()
            ).scalars()
            return sorted(_latest(connection, list(touched)).values(), key=lambda i: i.seq)

    def latest_all(self) -> list[PublishedItem]:
        """Every published item as its latest row describes it, in publication order (for a
        retrain: offline, one pass over the log, rows streamed)."""
        latest = select(func.max(_T.seq).label("seq")).group_by(_T.item_id).subquery()
        query = select(_T).join(latest, _T.seq == latest.c.seq).order_by(_T.seq)
        with self.engine.connect() as connection:
            rows = connection.execution_options(yield_per=MAX_BATCH).execute(query)
            return [_item(row) for row in rows]


def _item(row: Row[Any]) -> PublishedItem:
    genres = tuple(S.split_tags(row.genres)) if row.genres else ()
    return PublishedItem(
        row.item_id, row.title, row.text, genres, float(row.created_at), int(row.seq)
    )


def _latest(connection: Connection, ids: Sequence[str]) -> dict[str, PublishedItem]:
    """item -> its latest row, for the `ids` the log holds."""
    rows = latest_rows(connection, published_items, ids, MAX_BATCH)
    return {row.item_id: _item(row) for row in rows}
