"""The items retired from the served catalog, as each worker holds them, kept caught up.

A retirement (`POST /items/retire`) is a row in the store's retirement log
(`data.store.item_retirements`). Each worker holds the retired ids in memory as one
`RetiredItems` set and a daemon thread follows the log every AGORA_RETIRED_REFRESH_S seconds
(default 1), the way the knowledge base follows resolutions: it reads only the changes after the
last one it saw (a `SeqFollower`, which also finds a change whose number became visible late) and
swaps in a new set when anything changed. A request reads the current set by reference, so it
costs no store query; the served recommender looks the set's ids up once per change, on that
thread (`on_change`), not once per request (see `models.recommenders.RetiredItems`).

Freshness: the worker that stores a change catches up before it answers, so its own next feed
already follows it; every other worker, of this replica or another on the same store, within
its refresh interval plus one read. A worker that has not read the log yet (its store was down
when it started) refuses feeds with a 503 rather than serve an item the platform took down.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Final

from data.store import StoreUnavailableError, is_store_outage
from data.store.item_retirements import ItemRetirements
from models.recommenders import RetiredItems
from serving.settings import RETIRED_REFRESH_ENV
from serving.store_followers import follow_forever, refresh_seconds

logger = logging.getLogger(__name__)

DEFAULT_REFRESH_S: Final = 1.0


@dataclass(frozen=True)
class RetirementSettings:
    """How often a worker reads the retirement log for changes other workers stored."""

    refresh_s: float = DEFAULT_REFRESH_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetirementSettings:
        env = os.environ if environ is None else environ
        return cls(refresh_s=refresh_seconds(env, RETIRED_REFRESH_ENV, DEFAULT_REFRESH_S))


class ServedRetirements:
    """A worker's retired items and the thread that keeps them caught up with the store."""

    def __init__(
        self,
        log: ItemRetirements,
        settings: RetirementSettings,
        on_change: Callable[[RetiredItems], object] | None = None,
    ) -> None:
        """`on_change`: called with each new set (off the request path when the follow thread
        reads it), to have the served recommender look its ids up before a feed needs them."""
        self.log = log
        self.settings = settings
        self.on_change = on_change
        self._follower = log.follower()
        self._ids: set[str] = set()  # changed only under _lock, then published as `_current`
        self._lock = threading.Lock()
        self._current: RetiredItems | None = None  # None until the log was read once
        self._unpublished = False  # _ids changed since _current was made
        self.caught_up_at: float | None = None

    def start(self) -> None:
        """Read the whole log now (a worker serves no feed before it has), then follow it."""
        try:
            self.catch_up()
        except Exception as error:
            if not is_store_outage(error):
                raise
            logger.warning("retired items not read yet: the store is unavailable")
        follow = partial(
            follow_forever, self.catch_up, self.settings.refresh_s, "the retired items"
        )
        threading.Thread(target=follow, name="retired-items", daemon=True).start()

    @property
    def ready(self) -> bool:
        """True once the log was read (feeds may be served)."""
        return self._current is not None

    def current(self) -> RetiredItems:
        """The retired items now; StoreUnavailableError (a 503) before the log was read."""
        current = self._current
        if current is None:
            raise StoreUnavailableError("the retired items are not read yet")
        return current

    def catch_up(self) -> int:
        """Apply the changes stored since the last read; returns how many items changed."""
        with self._lock:
            changed = 0

            def apply(seqs: Sequence[int]) -> None:
                nonlocal changed
                for item, retired in self.log.changed_at(seqs).items():
                    if retired != (item in self._ids):
                        (self._ids.add if retired else self._ids.discard)(item)
                        changed += 1
                        self._unpublished = True

            try:
                self._follower.drain(apply)
            finally:
                # Also after a failed read: what was applied is served (the rest is read again).
                if self._unpublished:
                    # One reference assignment: a request sees the old set or the new one.
                    self._current = RetiredItems(frozenset(self._ids))
                    self._unpublished = False
                    self._announce(self._current)
            if self._current is None:
                self._current = RetiredItems()
            if changed:
                logger.info("%d retired items now (%d changed)", len(self._ids), changed)
            self.caught_up_at = time.time()
            return changed

    def _announce(self, retired: RetiredItems) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(retired)
        except Exception:  # a feed then looks the ids up itself
            logger.exception("preparing the new retired items failed")
