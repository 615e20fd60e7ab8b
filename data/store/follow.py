"""Following an append-only table by `seq` when numbers can become visible out of order.

A reader that remembers the highest `seq` it has seen and asks for rows above it misses a row
whose insert took its number first but committed later: on PostgreSQL two concurrent inserts get
10 and 11, 11 commits first, the reader moves past 10, and 10 is never read. (SQLite serialises
writers, so there numbers become visible in order.) A `SeqFollower` remembers each number it
stepped over and asks for those again on later polls, until they appear or `settle_s` has passed
since it first missed them: a rolled-back insert leaves its number unused for good. Numbers are
read without the caller's own filter, so a row that exists but does not interest the caller is
never mistaken for a gap.

A poll reads and changes nothing; `advance` records it once the caller has used what it read, so
a caller that fails half-way (an encoder that cannot load) reads the same numbers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Column, Engine, select

logger = logging.getLogger(__name__)

# An insert is one statement and its commit: seconds would be a stalled database. A number still
# missing after this long was rolled back (or its row deleted), not slow.
SETTLE_S: Final = 60.0
# Numbers stepped over at most: more at once is a jump of the sequence (PostgreSQL skips up to 32
# after a crash; an operator's setval skips any amount), not a burst of slow inserts.
MAX_PENDING: Final = 10_000
MAX_BATCH: Final = 1000  # numbers read per poll: a catch-up stays bounded


@dataclass(frozen=True)
class Polled:
    """What one poll found: numbers missed before and visible now (`late`), numbers above the
    highest seen (`fresh`, ascending), missed numbers given up on (`expired`), and whether
    another poll may find more at once (`more`). `late` and `fresh` hold `batch` numbers at most
    together."""

    late: tuple[int, ...]
    fresh: tuple[int, ...]
    expired: tuple[int, ...]
    at: float
    more: bool

    @property
    def seqs(self) -> tuple[int, ...]:
        """Every number to read rows for, each once."""
        return self.late + self.fresh


class SeqFollower:
    """The position of one reader of one table's `seq` column (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        seq: Column[int],
        *,
        settle_s: float = SETTLE_S,
        max_pending: int = MAX_PENDING,
        batch: int = MAX_BATCH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if settle_s <= 0 or max_pending < 0 or batch < 1:
            raise ValueError("settle_s must be > 0, max_pending >= 0 and batch >= 1")
        self.engine = engine
        self.column = seq
        self.settle_s = settle_s
        self.max_pending = max_pending
        self.batch = batch
        self.clock = clock
        self._last = 0
        self._pending: dict[int, float] = {}  # number stepped over -> when first missed

    @property
    def last(self) -> int:
        """The highest number recorded by `advance`."""
        return self._last

    @property
    def pending(self) -> Mapping[int, float]:
        """Numbers below `last` not seen yet, each with when it was first missed."""
        return dict(self._pending)

    def poll(self) -> Polled:
        """The numbers that are new since the last `advance` (reads only). Missed numbers are
        checked first, the longest-missed first, at most `batch` of them per poll."""
        now = self.clock()
        checked = sorted(self._pending, key=lambda seq: (self._pending[seq], seq))[: self.batch]
        with self.engine.connect() as connection:
            late: tuple[int, ...] = ()
            if checked:
                visible = select(self.column).where(self.column.in_(checked))
                late = tuple(sorted(int(seq) for seq in connection.execute(visible).scalars()))
            room = self.batch - len(late)
            fresh: tuple[int, ...] = ()
            if room:
                above = (
                    select(self.column)
                    .where(self.column > self._last)
                    .order_by(self.column)
                    .limit(room)
                )
                fresh = tuple(int(seq) for seq in connection.execute(above).scalars())
        seen = set(late)
        expired = tuple(
            seq for seq in checked if seq not in seen and now - self._pending[seq] > self.settle_s
        )
        return Polled(late, fresh, expired, now, more=bool(fresh) or not room)

    def advance(self, polled: Polled) -> None:
        """Record `polled` as read: its numbers are not returned again."""
        for seq in polled.late + polled.expired:
            self._pending.pop(seq, None)
        if polled.expired:
            logger.info("%s: gave up waiting for seq %s", self.column, list(polled.expired))
        previous = self._last
        for seq in polled.fresh:
            if seq <= previous:
                continue
            skipped = seq - previous - 1
            if skipped > self.max_pending - len(self._pending):
                logger.warning(
                    "%s jumped from %d to %d: the numbers between are not waited for",
                    self.column,
                    previous,
                    seq,
                )
            else:
                self._pending.update(dict.fromkeys(range(previous + 1, seq), polled.at))
            previous = seq
        self._last = previous

    def drain(self, apply: Callable[[Sequence[int]], object]) -> None:
        """Poll until nothing more is new, handing each poll's numbers to `apply` and recording
        them only once it returned: if it raises, the next drain reads them again."""
        while True:
            polled = self.poll()
            if polled.seqs:
                apply(polled.seqs)
            self.advance(polled)
            if not polled.more:
                return
