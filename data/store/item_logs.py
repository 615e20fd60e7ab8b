"""What the store's per-item logs share (item retirements, published items): a table of rows
never updated, each naming an `item_id`, numbered by `seq`; an item's state is its row with the
highest `seq`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table, func, select


def latest_rows(
    connection: Connection, log: Table, ids: Sequence[str], chunk: int
) -> Iterator[Row[Any]]:
    """Each of `ids`' latest row in `log`, for the ids it holds; `chunk` ids per query, so an
    IN list stays bounded (one index seek per item on (item_id, seq))."""
    c = log.c
    for start in range(0, len(ids), chunk):
        latest = (
            select(func.max(c.seq).label("seq"))
            .where(c.item_id.in_(ids[start : start + chunk]))
            .group_by(c.item_id)
            .subquery()
        )
        yield from connection.execute(select(log).join(latest, c.seq == latest.c.seq))
