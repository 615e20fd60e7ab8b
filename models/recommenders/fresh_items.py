"""Fresh items: items published after the fit, served by content until a retrain knows them.

A model knows only the items it was fitted on; a platform publishes new ones all the time. A
fresh item's text (title, genres, free text) is embedded by the model's own content encoder, so
it sits in the same space as the catalog's item vectors, and the policy is:

- Feeds give fresh items a bounded share of their slots: `floor(k * share)` (default share
  0.2: 2 of 10, none below k = 5), spread evenly through the list so the model's best items
  still lead it. The model's items keep their order and fill the rest.
- Which fresh items: those closest to the user's content profile (the mean content vector of
  their history, fresh items in it included) or to the text query, and only those at least as
  close to it as the median of the model's own items in the feed (and at cosine
  `min_similarity` or more): a fresh item takes a slot only when its content fits the user's
  taste as well as what the model chose, else the slot stays the model's. (An absolute bar
  does not work: a mean of item vectors sits at cosine 0.5 from unrelated items.) A user
  nothing is known about (the popular fallback) gets the newest fresh items: new content
  needs exposure, and nothing ranks it better.
- A history of fresh items alone is a content cold start: the catalog items closest to it.
- `similar_items` of a fresh item: the catalog items closest to its content, with the same
  share of fresh ones; of a catalog item: the model's answer with fresh items close to its
  content in the fresh share.
- Fresh items obey every filter (genres, ids, retired, blocked, seen) as catalog items do.

Cost per request: one matrix-vector product over the fresh items (the service holds at most
`serving.fresh_items.MAX_FRESH_ITEMS`), a sort of them, and the content vectors of the feed's
own k items and of the user's history: bounded whatever the catalog.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from models.recommenders.base import Recommender
from models.recommenders.contract import ItemFilter, ItemInfo, Recommendation

FRESH_SHARE: Final = 0.2
MIN_FRESH_SIMILARITY: Final = 0.3  # a floor under the feed's own bar


@dataclass(frozen=True, eq=False)
class FreshItems:
    """The fresh items a worker serves: ids, unit content vectors (rows), titles, genres and
    publication times. Immutable: the holder swaps in a new one when items are published."""

    ids: tuple[str, ...] = ()
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    titles: tuple[str, ...] = ()
    genres: tuple[tuple[str, ...], ...] = ()
    published_at: np.ndarray = field(default_factory=lambda: np.zeros(0))
    share: float = FRESH_SHARE
    min_similarity: float = MIN_FRESH_SIMILARITY

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not (len(self.titles) == len(self.genres) == len(self.published_at) == n):
            raise ValueError("ids, titles, genres and published_at must have one entry per item")
        if n and self.vectors.shape[0] != n:
            raise ValueError(f"{self.vectors.shape[0]} vectors for {n} items")
        if not 0.0 <= self.share <= 1.0:
            raise ValueError("share must be in [0, 1]")
        self.vectors.setflags(write=False)
        object.__setattr__(self, "_index", {item: i for i, item in enumerate(self.ids)})
        newest = np.lexsort((np.arange(n), -np.asarray(self.published_at, dtype=np.float64)))
        object.__setattr__(self, "_newest", newest)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._index  # type: ignore[attr-defined]

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1]) if len(self) else 0

    def slots(self, k: int) -> int:
        """How many of a k-item list may be fresh items."""
        return math.floor(k * self.share) if len(self) else 0

    def vector_of(self, item_id: str) -> np.ndarray:
        return self.vectors[self._index[item_id]]  # type: ignore[attr-defined]

    def describe(self, item_id: str) -> ItemInfo:
        position = self._index[item_id]  # type: ignore[attr-defined]
        published = int(self.published_at[position])
        return ItemInfo(item_id, self.titles[position], self.genres[position], published or None)

    def pick(
        self,
        n: int,
        profile: np.ndarray | None,
        excluded: Iterable[str] = (),
        filters: ItemFilter | None = None,
        at_least: float = 0.0,
    ) -> list[Recommendation]:
        """Up to `n` fresh items: the closest to `profile` at cosine `at_least` and
        `min_similarity` or more (score: the cosine), or with no profile the newest (score 0).
        Never `excluded` ones nor what `filters` refuses."""
        bar = max(at_least, self.min_similarity)
        if n <= 0 or not len(self):
            return []
        skip = {self._index[i] for i in excluded if i in self._index}  # type: ignore[attr-defined]
        if profile is None:
            order, scores = self._newest, np.zeros(len(self))  # type: ignore[attr-defined]
        else:
            scores = self.vectors @ np.asarray(profile, dtype=np.float32)
            above = np.flatnonzero(scores >= bar)  # usually few: only they are sorted
            order = above[np.lexsort((above, -scores[above]))]
        admits = self._admitter(filters)
        picked: list[Recommendation] = []
        for position in order:
            if position in skip or not admits(int(position)):
                continue
            picked.append(Recommendation(self.ids[position], float(scores[position])))
            if len(picked) == n:
                break
        return picked

    def _admitter(self, filters: ItemFilter | None) -> Callable[[int], bool]:
        """Whether `filters` let the item at a position through (their genre sets folded once
        per request, not once per candidate)."""
        if filters is None or filters.is_empty:
            return lambda _position: True
        include = {g.casefold() for g in filters.include_genres}
        exclude = {g.casefold() for g in filters.exclude_genres}
        after = filters.published_after  # a fresh item's time: when the store took it

        def admits(position: int) -> bool:
            item, genres = self.ids[position], {g.casefold() for g in self.genres[position]}
            if after is not None and self.published_at[position] < after:
                return False
            if item in filters.retired or item in filters.exclude_item_ids:
                return False
            if filters.include_item_ids and item not in filters.include_item_ids:
                return False
            if include and not genres & include:
                return False
            return not genres & exclude

        return admits


def blend(items: Sequence[Recommendation], fresh: Sequence[Recommendation], k: int) -> list:
    """The model's `items` with the `fresh` ones spread evenly through a k-item list (at ranks
    k/(n+1), 2k/(n+1), ...); the model's items keep their order and fill the rest."""
    fresh = list(fresh)[:k]
    if not fresh:
        return list(items)[:k]
    ours = [item for item in items if item.item_id not in {f.item_id for f in fresh}]
    length = min(k, len(ours) + len(fresh))
    slots = {round((i + 1) * length / (len(fresh) + 1)) for i in range(len(fresh))}
    slots = sorted(slots)[: len(fresh)]
    while len(slots) < len(fresh):  # very short lists: the next free ranks
        slots.append(next(r for r in range(length) if r not in slots))
    merged: list[Recommendation] = []
    fresh_iter, our_iter = iter(fresh), iter(ours)
    for rank in range(length):
        merged.append(next(fresh_iter) if rank in slots else next(our_iter))
    return merged


def feed_bar(model: Recommender, items: Sequence[Recommendation], taste: np.ndarray) -> float:
    """The median cosine of the model's `items` to `taste`: what a fresh item must reach."""
    vectors = model.content_vectors([item.item_id for item in items])
    if not len(vectors):
        return 0.0
    return float(np.median(vectors.astype(np.float64) @ np.asarray(taste, dtype=np.float64)))


def content_profile(
    model: Recommender,
    fresh: FreshItems,
    items: Sequence[str],
    weights: Sequence[float] | None = None,
) -> np.ndarray | None:
    """The unit mean content vector of `items` (catalog or fresh), weighted; None when none
    of them has a vector."""
    if not items:
        return None
    fresh_rows = [i for i, item in enumerate(items) if item in fresh]
    vectors = model.content_vectors([item for item in items if item not in fresh])
    known_rows = [i for i, item in enumerate(items) if item not in fresh]
    stacked = np.zeros((len(items), vectors.shape[1]), dtype=np.float64)
    stacked[known_rows] = vectors
    for row in fresh_rows:
        stacked[row] = fresh.vector_of(items[row])
    w = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=np.float64)
    profile = w @ stacked
    norm = float(np.linalg.norm(profile))
    return profile / norm if norm > 0 else None


def similar_with_fresh(
    model: Recommender,
    item_id: str,
    k: int,
    filters: ItemFilter | None,
    fresh: FreshItems,
) -> list[Recommendation]:
    """`similar_items` over the catalog and the fresh items (see the module docstring)."""
    if item_id in fresh and not model.known_item(item_id):
        vector = fresh.vector_of(item_id)
        ours = model.recommend_for_vector(vector, k, filters)
    else:
        ours = model.similar_items(item_id, k, filters)
        if not fresh.slots(k):
            return ours
        vector = content_profile(model, fresh, [item_id])
    bar = feed_bar(model, ours, vector) if vector is not None else 0.0
    return blend(ours, fresh.pick(fresh.slots(k), vector, {item_id}, filters, bar), k)


def describe_with_fresh(
    model: Recommender, fresh: FreshItems | None, item_ids: Sequence[str]
) -> list[ItemInfo]:
    """`model.describe_items`, with fresh items described by what the platform published."""
    infos = model.describe_items(item_ids)
    if fresh is None or not len(fresh):
        return infos
    return [fresh.describe(i.item_id) if i.item_id in fresh else i for i in infos]
