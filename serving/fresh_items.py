"""Items published after the recommender was trained, embedded and served by every worker.

`POST /items` stores an item (id, title, text, genres) in the store's published-items log
(`data.store.published_items`). Each worker follows the log every AGORA_FRESH_REFRESH_S
seconds (default 2) like the retired items (`serving.retired_items`), embeds the new items'
text with the served recommender's own content encoder (`features.item_text` assembles it as
the model's catalog texts were) on that thread, and swaps in a new `FreshItems`; a feed reads
it by reference. The policy (share of slots, which items, similar items) is
`models.recommenders.fresh_items`. The worker that stores an item reads it back before it
answers.

What is held: the newest MAX_FRESH_ITEMS published items the served model does not know (an
item a retrained model knows is served by the model; an edit of such an item waits for the next
retrain). A new champion (a reload) re-embeds them with its encoder, before the swap
(`prepare`, called by serving.champion_reload): embedded after it, the first publication's
read-back waited for all of them (1.8-3.9 s for 24 items on a loaded 2-core host; at that
rate the 10,000 a worker may hold would take minutes). AGORA_FRESH_SHARE=0 turns fresh items
off (nothing is followed or embedded).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Final

import numpy as np

from data.store import is_store_outage
from data.store.published_items import PublishedItem, PublishedItems
from features.item_text import item_text
from models.recommenders import Recommender
from models.recommenders.fresh_items import FRESH_SHARE, FreshItems
from serving.settings import FRESH_REFRESH_ENV, FRESH_SHARE_ENV, env_number
from serving.store_followers import follow_forever, refresh_seconds

logger = logging.getLogger(__name__)

DEFAULT_REFRESH_S: Final = 2.0
MAX_FRESH_ITEMS: Final = 10_000  # 15 MB of 384-d vectors; a feed scores them all: ~1 ms
EMBED_BATCH: Final = 64
_Embedded = tuple[PublishedItem, np.ndarray]  # an item and its vector by one encoder


@dataclass(frozen=True)
class FreshSettings:
    """The share of feed slots fresh items may take (0: off) and how often the log is read."""

    share: float = FRESH_SHARE
    refresh_s: float = DEFAULT_REFRESH_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FreshSettings:
        env = os.environ if environ is None else environ
        refresh = refresh_seconds(env, FRESH_REFRESH_ENV, DEFAULT_REFRESH_S)
        value = env.get(FRESH_SHARE_ENV, "").strip()
        share = env_number(FRESH_SHARE_ENV, value, float) if value else FRESH_SHARE
        if not 0 <= share <= 0.5:
            raise ValueError(f"{FRESH_SHARE_ENV} must be a share from 0 to 0.5 (0: off)")
        return cls(share=share, refresh_s=refresh)


class ServedFreshItems:
    """A worker's fresh items and the thread that keeps them caught up with the store."""

    def __init__(
        self,
        log: PublishedItems,
        settings: FreshSettings,
        served_model: Callable[[], Recommender | None],
    ) -> None:
        self.log = log
        self.settings = settings
        self.served_model = served_model
        self._follower = log.follower()
        self._lock = threading.Lock()
        self._items: dict[str, PublishedItem] = {}  # newest MAX_FRESH_ITEMS, by item id
        self._vectors: dict[str, np.ndarray] = {}  # of `_items`, by `_embedded_by`
        self._embedded_by: Recommender | None = None
        self._current: FreshItems | None = None
        # Vectors `prepare` made for a champion not served yet, each with the item it embedded
        # (an edit arriving before the swap is a new item: embedded again, not taken from here).
        self._prepared: tuple[Recommender, dict[str, _Embedded]] | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.share > 0

    def start(self) -> None:
        if not self.enabled:
            return
        try:
            self.catch_up()
        except Exception as error:
            if not is_store_outage(error):
                raise
            logger.warning("published items not read yet: the store is unavailable")
        follow = partial(
            follow_forever, self.catch_up, self.settings.refresh_s, "the published items"
        )
        threading.Thread(target=follow, name="fresh-items", daemon=True).start()

    def current(self) -> FreshItems | None:
        """The fresh items served now (None: off, or nothing published or read yet)."""
        return self._current

    def catch_up(self) -> int:
        """Read what was published since the last read, embed what the served model does not
        know, and swap in the new set; returns how many items were embedded."""
        model = self.served_model()
        if not self.enabled or model is None or not model.answers_text_queries:
            return 0
        with self._lock:
            changed = False

            def read(seqs: Sequence[int]) -> None:
                nonlocal changed
                for item in self.log.items_at(seqs):
                    self._items.pop(item.item_id, None)  # re-inserted: newest last
                    self._items[item.item_id] = item
                    self._vectors.pop(item.item_id, None)  # an edit is embedded again
                    changed = True

            self._follower.drain(read)
            while len(self._items) > MAX_FRESH_ITEMS:
                oldest = next(iter(self._items))
                del self._items[oldest]
                self._vectors.pop(oldest, None)
            if model is not self._embedded_by:  # a new champion: its encoder, its catalog
                self._vectors = self._prepared_vectors(model)
                self._embedded_by = model
                changed = True
            embedded = self._embed(model)
            if changed or embedded:
                self._current = self._build(model)
                logger.info("%d fresh items served (%d embedded now)", len(self._current), embedded)
            return embedded

    def prepare(self, model: Recommender | None) -> int:
        """Embed the held items with `model`, a champion about to be swapped in, so the first
        `catch_up` that serves it embeds only what was published since; returns how many were
        embedded. Runs on the reload's thread, outside the lock: publications and feeds go on."""
        if not self.enabled or model is None or not model.answers_text_queries:
            return 0
        with self._lock:
            if model is self._embedded_by:  # a reload that kept the served recommender
                return 0
            held = [i for i in self._items.values() if not model.known_item(i.item_id)]
        prepared = {item.item_id: (item, vector) for item, vector in _embedded(model, held)}
        with self._lock:
            self._prepared = (model, prepared)
        return len(prepared)

    def _prepared_vectors(self, model: Recommender) -> dict[str, np.ndarray]:
        """The vectors `prepare` made for `model` of the items held now, unedited since."""
        prepared, self._prepared = self._prepared, None
        if prepared is None or prepared[0] is not model:
            return {}
        return {
            item_id: vector
            for item_id, (item, vector) in prepared[1].items()
            if self._items.get(item_id) is item
        }

    def _embed(self, model: Recommender) -> int:
        todo = [
            item
            for item_id, item in self._items.items()
            if item_id not in self._vectors and not model.known_item(item_id)
        ]
        for item, vector in _embedded(model, todo):
            self._vectors[item.item_id] = vector
        return len(todo)

    def _build(self, model: Recommender) -> FreshItems:
        held = [i for i in self._items.values() if i.item_id in self._vectors]
        held = [i for i in held if not model.known_item(i.item_id)]
        if not held:
            return FreshItems(share=self.settings.share)
        return FreshItems(
            ids=tuple(i.item_id for i in held),
            vectors=np.stack([self._vectors[i.item_id] for i in held]).astype(np.float32),
            titles=tuple(i.title for i in held),
            genres=tuple(i.genres for i in held),
            published_at=np.array([i.published_at for i in held], dtype=np.float64),
            share=self.settings.share,
        )


def _embedded(model: Recommender, items: list[PublishedItem]) -> Iterator[_Embedded]:
    """Each of `items` with its vector by `model`'s content encoder, `EMBED_BATCH` at a time."""
    for start in range(0, len(items), EMBED_BATCH):
        batch = items[start : start + EMBED_BATCH]
        texts = [item_text(i.title, "|".join(i.genres), i.text) for i in batch]
        yield from zip(batch, model.embed_texts(texts), strict=True)
