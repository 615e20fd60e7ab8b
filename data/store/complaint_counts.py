"""Complaint counts from the triage log, counted in the database (GROUP BY), bounded.

A record counts at its message time: `occurred_at` when the client gave it, else `created_at`
(its arrival). Counts are per time bucket (a day, or an analysis window) and per group of one
dimension (reason, category, queue, item, sentiment, or the pair item · reason). Every query is
bounded: at most MAX_BUCKETS buckets and MAX_GROUPS groups (the groups with the most records in
the range; the rest are summed as `other`), and text samples are at most MAX_TEXTS records of at
most TEXT_SAMPLE_CHARS characters each.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Engine, Integer, and_, case, cast, func, select

from data.store.connection import StoreError
from data.store.tables import corrections, triage_records
from data.store.triage_log import (
    TRUE_LABEL,
    is_complaint_after_corrections,
    label_after_corrections,
)

MAX_BUCKETS: Final = 2000  # e.g. 83 days of hourly windows, or 5 years of days
MAX_GROUPS: Final = 50
MAX_TEXTS: Final = 5000
# A text sample reads each text's start only, in SQL: a stored text may be 100 KB, and the
# analytics read two samples of 2,000 texts for every call (the desk's trends panel makes one at
# each load), so full texts were up to 400 MB read and tokenised per call (about 36 s of CPU).
# Terms of a complaint are in its opening; 2,000 characters hold a long message's first page.
TEXT_SAMPLE_CHARS: Final = 2000
DAY_S: Final = 86400.0
NEGATIVE: Final = "negative"
PAIR_SEPARATOR: Final = " · "

_T = triage_records.c
# The group of a record the model gave no such label (no reason model for its language, an
# empty text): counted under this name, so a dimension's groups and `other` add up to the total.
NO_LABEL: Final = "(none)"

LabelOf = Callable[[str, ColumnElement[Any]], ColumnElement[Any]]


def _model_label(field: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The record's `field` as the model said, whatever agents corrected."""
    return column


def _dimensions(label_of: LabelOf) -> dict[str, ColumnElement[Any]]:
    """Each dimension's group of a record, its labels read by `label_of`. Records without an
    item are not about one: the item dimensions give them no group (every other dimension does)."""

    def labelled(field: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(label_of(field, column), NO_LABEL)

    return {
        "reason": labelled("reason", _T.reason),
        "category": labelled("category", _T.category),
        "queue": labelled("queue", _T.queue),
        "item": _T.item_id,
        "sentiment": labelled("sentiment", _T.sentiment),
        "item_reason": _T.item_id + PAIR_SEPARATOR + labelled("reason", _T.reason),
    }


# Labels count as an agent last corrected them, else as the model said: a false complaint an
# agent corrected away must not feed a spike alert or the trends.
DIMENSIONS: Final[dict[str, ColumnElement[Any]]] = _dimensions(label_after_corrections)
_COMPLAINT = is_complaint_after_corrections() == TRUE_LABEL
_NEGATIVE = label_after_corrections("sentiment", _T.sentiment) == NEGATIVE
# The same as the model said. A count groups every record of its range by these (plain columns),
# then moves the few records agents corrected to their corrected groups: looking each record's
# corrections up in the scan (a correlated subquery per label per record, three or four per
# record) cost more than reading the records, for the few thousand records ever corrected.
_MODEL_DIMENSIONS: Final = _dimensions(_model_label)
_MODEL_COMPLAINT = _T.is_complaint.is_(True)
_MODEL_NEGATIVE = _T.sentiment == NEGATIVE
# Every dimension but sentiment counts complaints only (a "reason" of a happy message is noise).
ALL_RECORDS_DIMENSIONS: Final = frozenset({"sentiment"})


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where `condition` holds, else 0 (NULL too), as the counts sum it."""
    return case((condition, 1), else_=0)


@dataclass(frozen=True)
class BucketCounts:
    """Counts per bucket: bucket i covers [starts[i], starts[i] + width)."""

    dimension: str
    width: float
    starts: list[float]
    groups: dict[str, list[int]]  # group -> count per bucket (the top MAX_GROUPS groups)
    other: list[int]  # the records of the groups left out
    totals: list[int]  # every triaged record
    complaints: list[int]  # records triaged as complaints
    negatives: list[int]  # records with negative sentiment
    group_totals: dict[str, int] = field(default_factory=dict)

    def folded(self, edges: Sequence[float]) -> BucketCounts:
        """These counts summed into the buckets [edges[i], edges[i + 1]) (each of these buckets
        goes to the one its start falls in): hours into the days of a time zone, whose lengths
        vary with daylight saving. `edges` start at `starts[0]`."""
        into = np.searchsorted(np.asarray(edges), np.asarray(self.starts), side="right") - 1
        into = np.clip(into, 0, len(edges) - 2)
        n = len(edges) - 1

        def fold(values: list[int]) -> list[int]:
            return np.bincount(into, weights=values, minlength=n).astype(int).tolist()

        return BucketCounts(
            dimension=self.dimension,
            width=0.0,  # buckets of several lengths: `starts` and the edges say where each is
            starts=list(edges[:-1]),
            groups={group: fold(series) for group, series in self.groups.items()},
            other=fold(self.other),
            totals=fold(self.totals),
            complaints=fold(self.complaints),
            negatives=fold(self.negatives),
            group_totals=dict(self.group_totals),
        )

    def negative_share(self) -> list[float | None]:
        """Share of records with negative sentiment per bucket (None: no records)."""
        return [n / t if t else None for n, t in zip(self.negatives, self.totals, strict=True)]


def message_time() -> ColumnElement[Any]:
    """A record's message time, written as the index ix_triage_message_time has it (SQLite uses
    an expression index only for the very same expression); analytics and retention read it."""
    return func.coalesce(_T.occurred_at, _T.created_at)


def in_range(since: float, until: float) -> ColumnElement[bool]:
    """Records whose message time is in [since, until): a range of the index on the message
    time (`ix_triage_message_time`), so a count reads its range, not the whole history."""
    time_of = message_time()
    return and_(time_of >= since, time_of < until)


def bucket_count(since: float, until: float, width: float, limit: int = MAX_BUCKETS) -> int:
    """How many buckets of `width` seconds cover [since, until); StoreError beyond `limit`."""
    if width <= 0 or until <= since:
        raise StoreError(f"need until > since and a positive width (got {since}, {until}, {width})")
    count = math.ceil((until - since) / width)
    if count > limit:
        raise StoreError(f"{count} buckets of {width:g}s asked; at most {limit}: narrow the range")
    return count


class ComplaintCounts:
    """Grouped counts of triaged records over time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _bucket(self, since: float, width: float) -> ColumnElement[int]:
        offset = (message_time() - since) / width
        # PostgreSQL rounds a float cast to integer; SQLite truncates (offsets are >= 0 here).
        if self.engine.dialect.name == "postgresql":
            return cast(func.floor(offset), Integer)
        return cast(offset, Integer)

    def counts(
        self,
        by: str,
        since: float,
        until: float,
        width: float = DAY_S,
        max_groups: int = MAX_GROUPS,
        max_buckets: int = MAX_BUCKETS,
    ) -> BucketCounts:
        """Counts per bucket of `width` seconds in [since, until) and per group of `by`
        (`max_buckets`: a caller folding buckets into fewer may ask for more than MAX_BUCKETS)."""
        return self.counts_of((by,), since, until, width, max_groups, max_buckets)[by]

    def counts_of(
        self,
        dimensions: Sequence[str],
        since: float,
        until: float,
        width: float = DAY_S,
        max_groups: int = MAX_GROUPS,
        max_buckets: int = MAX_BUCKETS,
    ) -> dict[str, BucketCounts]:
        """`counts` of each of `dimensions`, from one pass over the range: every pass reads each
        record of the range, and a summary wants two dimensions (its own and the top items)."""
        if not dimensions:
            raise StoreError(f"no dimension asked; any of {sorted(DIMENSIONS)}")
        if unknown := sorted(set(dimensions) - set(DIMENSIONS)):
            named = "', '".join(unknown)
            raise StoreError(f"unknown dimension '{named}'; one of {sorted(DIMENSIONS)}")
        n = bucket_count(since, until, width, max_buckets)
        wanted = tuple(dict.fromkeys(dimensions))  # each once, in the order asked
        records = self._records_by_key(wanted, since, until, width)
        starts = [since + i * width for i in range(n)]
        return {
            by: _tally(records, position, by, starts, width, max_groups)
            for position, by in enumerate(wanted)
        }

    def _records_by_key(
        self, dimensions: tuple[str, ...], since: float, until: float, width: float
    ) -> pd.DataFrame:
        """How many records of [since, until) fall at each key (bucket, group of each of
        `dimensions`, complaint, negative), with labels as agents last corrected them: one pass
        over the range grouped by the model's labels, then each corrected record of the range
        moved from its model key to its corrected one."""
        bucket = self._bucket(since, width).label("bucket")
        model = (
            *(_MODEL_DIMENSIONS[by].label(f"g{i}") for i, by in enumerate(dimensions)),
            _flag(_MODEL_COMPLAINT).label("complaint"),
            _flag(_MODEL_NEGATIVE).label("negative"),
        )
        corrected = (*(DIMENSIONS[by] for by in dimensions), _flag(_COMPLAINT), _flag(_NEGATIVE))
        ever_corrected = select(corrections.c.triage_id).distinct()
        with self.engine.connect() as connection:
            grouped = connection.execute(
                select(bucket, *model, func.count())
                .where(in_range(since, until))
                .group_by(bucket, *model)
            ).all()
            moved = connection.execute(
                select(bucket, *model, *corrected).where(
                    in_range(since, until), _T.triage_id.in_(ever_corrected)
                )
            ).all()
        # One row per key and its count; a corrected record is one row less at its model key
        # and one more at its corrected key. Tallied with numpy: an hourly summary of 92 days
        # has about 90,000 keys (hour x reason x item x flags), too many for a loop per row.
        columns = ["bucket", *(label.name for label in model)]
        keys = len(columns)
        rows = [tuple(row[:keys]) for row in grouped]
        rows += [tuple(row[:keys]) for row in moved]
        rows += [(row[0], *row[keys:]) for row in moved]
        frame = pd.DataFrame(rows, columns=columns)
        frame["n"] = [int(row[keys]) for row in grouped] + [-1] * len(moved) + [1] * len(moved)
        return frame

    def complaint_texts(self, since: float, until: float, limit: int = MAX_TEXTS) -> list[str]:
        """The redacted texts of the newest complaints in [since, until), at most `limit`,
        each cut to its first TEXT_SAMPLE_CHARS characters."""
        query = (
            select(func.substr(_T.redacted_text, 1, TEXT_SAMPLE_CHARS))
            .where(in_range(since, until), _COMPLAINT)
            .order_by(message_time().desc())
            .limit(max(0, min(limit, MAX_TEXTS)))
        )
        with self.engine.connect() as connection:
            return [str(row[0]) for row in connection.execute(query)]


def _tally(
    records: pd.DataFrame,
    position: int,
    by: str,
    starts: list[float],
    width: float,
    max_groups: int,
) -> BucketCounts:
    """The counts of the dimension `by` (the key's group `g{position}`) per bucket."""
    n = len(starts)
    records = records[(records["bucket"] >= 0) & (records["bucket"] < n)]
    bucket = records["bucket"].to_numpy(dtype=np.int64)
    count = records["n"].to_numpy(dtype=np.int64)
    complained = records["complaint"].to_numpy(dtype=np.int64) == 1
    negative = records["negative"].to_numpy(dtype=np.int64) == 1

    def per_bucket(where: np.ndarray) -> list[int]:
        return _sums(bucket[where], count[where], n)

    group = records[f"g{position}"]
    counted = group.notna().to_numpy()
    if by not in ALL_RECORDS_DIMENSIONS:
        counted = counted & complained
    group_totals = records[counted].groupby(f"g{position}", sort=False)["n"].sum()
    # The groups with the most records, ties by name in code point order (SQLite's BINARY
    # collation), so the cap keeps the same groups on every backend.
    ranked = sorted(
        ((str(g), int(total)) for g, total in group_totals.items() if total > 0),
        key=lambda pair: (-pair[1], pair[0]),
    )
    kept = dict(ranked[: max(1, min(max_groups, MAX_GROUPS))])
    code = pd.Index(list(kept), dtype=object).get_indexer(group.to_numpy(dtype=object))
    in_kept = counted & (code >= 0)
    series = _sums(code[in_kept] * n + bucket[in_kept], count[in_kept], len(kept) * n)
    return BucketCounts(
        dimension=by,
        width=width,
        starts=list(starts),
        groups={g: series[i * n : (i + 1) * n] for i, g in enumerate(kept)},
        other=per_bucket(counted & (code < 0)),
        totals=per_bucket(np.ones_like(counted)),
        complaints=per_bucket(complained),
        negatives=per_bucket(negative),
        group_totals=kept,
    )


def _sums(index: np.ndarray, count: np.ndarray, size: int) -> list[int]:
    """The counts summed per index in [0, size)."""
    return np.bincount(index, weights=count, minlength=size).astype(np.int64).tolist()
