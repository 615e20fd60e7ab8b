"""What every fitted recommender keeps besides its weights: id maps, history, item catalog.

The history CSR makes `exclude_seen` work after loading and is the fitted part of a user's feed
history; the item catalog (titles, genres) makes genre filters and item descriptions work
without the items frame. All of it is saved with the model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from data import schemas as S
from data.events import EVENT_SEQ
from features.idmap import IdMap
from features.interactions import DuplicatePolicy, build_interaction_matrix
from features.user_history import UserHistory
from models.artifacts import load_sparse, read_json, save_sparse, write_json
from models.recommenders.contract import ItemFilter, ItemInfo, RetiredItems
from models.recommenders.held_out_users import HeldOutUsers
from models.recommenders.kept_out_pairs import KEPT_OUT_FILE, row_items, union_pairs
from models.recommenders.publication_times import (
    load_times,
    publication_times,
    published_since,
    save_times,
)

logger = logging.getLogger(__name__)

USERS_FILE = "users.json"
ITEMS_FILE = "items.json"
HISTORY_FILE = "history.npz"
ALSO_SEEN_FILE = "also_seen.npz"
CATALOG_FILE = "catalog.json"
# How far below the last fitted event-log position a missing one is remembered (and folded in
# when it shows up). Inserts commit out of order by at most the number of concurrent writers; a
# position missing this far back was rolled back or deleted.
UNSEEN_WINDOW = 10_000


@dataclass
class FittedCatalog:
    """Id maps, the users × items history (raw values) and per-item titles and genres.

    The item map covers items with interactions and catalog-only items from the items frame
    (sorted ids); `has_interactions` tells them apart. `events_through` is the last event-log
    position among the interactions fitted (0: none came from the event log), so a feed adds
    only the events the model has not seen. `events_unseen` are the positions below it
    (within `UNSEEN_WINDOW`) the fit did not have: on PostgreSQL position n can commit after
    n + 1 was read into training, and such an event must still be folded in. Positions of events
    that are not interactions (complaints, dislikes) are among them and never match one.

    `also_seen` (users × items, ones) holds pairs each user is known to have seen that the
    fitted history lacks: rated 0 or below (no positive evidence, so not fitted) and, once the
    training pipeline attaches them, the pairs held out to evaluate the model. A served feed
    with `exclude_seen` keeps them out too: a user must not be offered what they rated.
    `held_out_users` holds the held-out pairs of the users the fit never saw (all their pairs
    were held out): a feed takes them as such a user's history (`fit_time_history`).
    `kept_out` (users × items, ones) holds the pairs rated 0 or below, fitted or held out (an
    imported hide or report): a feed leaves them out even when it asks for seen items
    (models.recommenders.kept_out_pairs). `published_at` holds each item's publication time
    (epoch seconds, 0 unknown; None when the items had none) for recency filters.
    """

    users: IdMap
    items: IdMap
    history: sp.csr_matrix
    titles: list[str]
    genres: list[str]  # "|"-joined, one per item
    typical_value: float  # median interaction value: the default weight of a described item
    events_through: int = 0
    events_unseen: frozenset[int] = frozenset()
    also_seen: sp.csr_matrix | None = None
    held_out_users: HeldOutUsers | None = None
    kept_out: sp.csr_matrix | None = None
    published_at: np.ndarray | None = None
    _genre_masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # The last RetiredItems given and the items it leaves allowed (read-only): a feed passes
    # the same served set until it changes, so it is looked up once per change, not per request.
    _retired_memo: tuple[RetiredItems, np.ndarray | None] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def from_frames(
        cls,
        interactions: pd.DataFrame,
        items: pd.DataFrame | None = None,
        duplicates: DuplicatePolicy = "sum",
    ) -> FittedCatalog:
        if not isinstance(interactions, pd.DataFrame):
            raise TypeError(f"interactions must be a pandas DataFrame, got {type(interactions)}")
        if len(interactions) == 0:
            raise ValueError("interactions frame is empty: nothing to fit")
        for column in (S.USER_ID, S.ITEM_ID):
            if column not in interactions.columns:
                raise ValueError(f"interactions frame lacks required column '{column}'")
        if items is not None and S.ITEM_ID not in items.columns:
            raise ValueError(f"items frame lacks required column '{S.ITEM_ID}'")
        # Ids are compared as strings; the id maps convert whole columns at once.
        item_ids = interactions[S.ITEM_ID]
        if items is not None:
            # Distinct ids first: a categorical column (ids read dictionary-encoded) joined to
            # the items' plain strings would turn every one of its rows into a Python object.
            distinct = pd.Series(pd.unique(item_ids).astype(str), dtype=object)
            item_ids = pd.concat([distinct, items[S.ITEM_ID].astype(str)], ignore_index=True)
        item_map = IdMap.from_values(item_ids)
        built = build_interaction_matrix(interactions, items=item_map, duplicates=duplicates)
        titles, genres = _catalog_columns(items, item_map)
        values = built.matrix.data
        typical = float(np.median(values)) if len(values) else 1.0
        catalog = cls(
            built.users,
            item_map,
            built.matrix,
            titles,
            genres,
            typical if typical > 0 else 1.0,
            *_event_positions(interactions),
            built.left_out,  # rated 0 or below: seen, though not fitted
            kept_out=built.left_out,  # and kept out of feeds that ask for seen items
            published_at=publication_times(items, item_map),
        )
        logger.info(
            "fitted catalog: %d users, %d items (%d with interactions), %d interactions",
            catalog.n_users,
            catalog.n_items,
            int(catalog.has_interactions.sum()),
            built.matrix.nnz,
        )
        return catalog

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @cached_property
    def has_interactions(self) -> np.ndarray:
        """Boolean per item: at least one training interaction (computed once: history is fixed)."""
        return self.popularity > 0

    @cached_property
    def popular_scores(self) -> np.ndarray:
        """Popularity where an item had interactions, -inf elsewhere: the popular fallback's
        scores (computed once: history is fixed; copy before masking)."""
        return np.where(self.has_interactions, self.popularity, -np.inf)

    @cached_property
    def popular_order(self) -> np.ndarray:
        """Items with interactions, most popular first, ties by item index: the popular
        fallback walks it instead of ranking every item on each request."""
        scores = self.popular_scores
        finite = np.flatnonzero(np.isfinite(scores))
        return finite[np.lexsort((finite, -scores[finite]))]

    @cached_property
    def popularity(self) -> np.ndarray:
        """Distinct users per item, float64 (computed once: history is fixed)."""
        return np.asarray(self.history.getnnz(axis=0), dtype=np.float64)

    def history_rows(self, user_indices: np.ndarray) -> sp.csr_matrix:
        """The fitted history rows of `user_indices` (a copy, safe to modify).

        A feed scores one user, and scipy's general row indexing costs more than the scoring
        of a row: one row is sliced straight from the CSR arrays.
        """
        indices = np.asarray(user_indices, dtype=np.int64).ravel()
        if len(indices) != 1:
            return sp.csr_matrix(self.history[indices])
        history = self.history
        start, stop = history.indptr[indices[0]], history.indptr[indices[0] + 1]
        return sp.csr_matrix(
            (
                history.data[start:stop].copy(),
                history.indices[start:stop].copy(),
                np.array([0, stop - start], dtype=history.indptr.dtype),
            ),
            shape=(1, self.n_items),
        )

    def seen_rows(self, user_indices: np.ndarray, also_seen: bool = False) -> sp.csr_matrix:
        """What `exclude_seen` masks for `user_indices`: their fitted history rows, and with
        `also_seen` the pairs seen beyond it too (non-zero where seen)."""
        rows = self.history_rows(user_indices)
        if not also_seen or self.also_seen is None:
            return rows
        extra = self.also_seen[np.asarray(user_indices, dtype=np.int64).ravel()]
        # As booleans: a history value (negative in models fitted before non-positive ratings
        # were left out) plus a one could sum to zero and unmask the item.
        return sp.csr_matrix((rows != 0) + (extra != 0))

    def had_interactions(self, item_id: str) -> bool:
        """True when the item had at least one interaction at fit time."""
        index = self.items.get(item_id)
        return index is not None and bool(self.has_interactions[index])

    def history_of(self, user_id: str) -> UserHistory:
        """The items (and values) fitted for `user_id`; empty for a user unknown at fit time."""
        index = self.users.get(user_id)
        if index is None:
            return UserHistory()
        start, stop = self.history.indptr[index], self.history.indptr[index + 1]
        return UserHistory(
            tuple(self.items.ids_of(self.history.indices[start:stop])),
            tuple(self.history.data[start:stop].tolist()),
        )

    def fit_time_history(self, user_id: str) -> UserHistory:
        """What was known of `user_id` when the model was fitted: their fitted history, or for
        a user the fit never saw, their positive held-out pairs (see held_out_users)."""
        if user_id in self.users or self.held_out_users is None:
            return self.history_of(user_id)
        return self.held_out_users.history(user_id, self.items)

    def describe(self, item_ids: Sequence[str]) -> list[ItemInfo]:
        """Title, genres and publication time of each item (title None for an id not in the
        catalog)."""
        described = []
        for item_id in item_ids:
            index = self.items.get(item_id)
            if index is None:
                described.append(ItemInfo(item_id, None, ()))
            else:
                genres = tuple(S.split_tags(self.genres[index]))
                published = None if self.published_at is None else int(self.published_at[index])
                described.append(ItemInfo(item_id, self.titles[index], genres, published or None))
        return described

    def genre_mask(self, genres: Iterable[str]) -> np.ndarray:
        """Boolean per item: has at least one of `genres` (compared without case or outer
        spaces: a client's `drama` is the catalog's `Drama`)."""
        if not self._genre_masks:
            index: dict[str, list[int]] = {}
            for position, joined in enumerate(self.genres):
                for genre in S.split_tags(joined):
                    index.setdefault(_genre_key(genre), []).append(position)
            for genre, positions in index.items():
                mask = np.zeros(self.n_items, dtype=bool)
                mask[positions] = True
                self._genre_masks[genre] = mask
        mask = np.zeros(self.n_items, dtype=bool)
        for genre in genres:
            found = self._genre_masks.get(_genre_key(genre))
            if found is not None:
                mask |= found
        return mask

    def allowed_items(self, filters: ItemFilter | None) -> np.ndarray | None:
        """Boolean per item allowed by `filters`, or None when nothing is filtered."""
        if filters is None or filters.is_empty:
            return None
        not_retired = self.not_retired_mask(filters.retired)
        if not (
            filters.include_genres
            or filters.exclude_genres
            or filters.include_item_ids
            or filters.exclude_item_ids
            or filters.published_after is not None
        ):
            return not_retired  # read-only and shared: nothing else to combine it with
        allowed = np.ones(self.n_items, dtype=bool) if not_retired is None else not_retired.copy()
        if filters.published_after is not None:
            allowed &= published_since(self.published_at, filters.published_after)
        if filters.include_genres:
            allowed &= self.genre_mask(filters.include_genres)
        if filters.exclude_genres:
            allowed &= ~self.genre_mask(filters.exclude_genres)
        if filters.include_item_ids:
            included = self.items.lookup(filters.include_item_ids)
            candidates = np.zeros(self.n_items, dtype=bool)
            candidates[included[included >= 0]] = True
            allowed &= candidates
        if filters.exclude_item_ids:
            excluded = self.items.lookup(filters.exclude_item_ids)
            allowed[excluded[excluded >= 0]] = False
        return allowed

    def not_retired_mask(self, retired: RetiredItems) -> np.ndarray | None:
        """Boolean per item (read-only): not among `retired`; None when none of them is in the
        catalog. Computed once per RetiredItems object (see RetiredItems)."""
        memo = self._retired_memo
        if memo is not None and memo[0] is retired:
            return memo[1]
        found = self.items.lookup(retired.ids) if len(retired) else np.empty(0, dtype=np.int64)
        found = found[found >= 0]
        mask = None
        if len(found):
            mask = np.ones(self.n_items, dtype=bool)
            mask[found] = False
            mask.setflags(write=False)
        self._retired_memo = (retired, mask)  # one assignment: a racing request sees either
        return mask

    def add_also_seen(self, pairs: pd.DataFrame) -> None:
        """Remember `pairs` (user_id, item_id) as seen, beyond the fitted history; pairs of users
        or items outside the id maps are dropped (the model cannot serve them anyway)."""
        if pairs.empty:
            return
        # "sum" merges repeated pairs while the CSR is built, in C; then each pair counts once.
        seen = build_interaction_matrix(
            pairs[[S.USER_ID, S.ITEM_ID]], self.users, self.items, "sum", unknown="drop"
        ).matrix
        seen.data[:] = 1.0
        if self.also_seen is not None:
            seen = (seen + self.also_seen).astype(bool).astype(np.float32).tocsr()
        self.also_seen = seen
        logger.info("%d pairs seen beyond the fitted history kept for exclude_seen", seen.nnz)

    def add_held_out_users(self, pairs: pd.DataFrame, duplicates: DuplicatePolicy) -> None:
        """Keep the held-out `pairs` of the users the fit never saw, merged by `duplicates`.

        Stored events at an `events_unseen` position are left to the feed, which folds those in
        from the event store (counted here too, they would count twice)."""
        if EVENT_SEQ in pairs.columns and self.events_unseen:
            positions = pd.to_numeric(pairs[EVENT_SEQ], errors="coerce")
            pairs = pairs[~positions.isin(self.events_unseen)]
        self.held_out_users = HeldOutUsers.from_pairs(pairs, self.users, self.items, duplicates)

    def add_kept_out(self, pairs: pd.DataFrame, duplicates: DuplicatePolicy) -> None:
        """Keep out the pairs of `pairs` whose value, merged by `duplicates`, is 0 or below (the
        held-out hides and reports); pairs outside the id maps are dropped."""
        # Without a row at 0 or below no merge of them is (a sum, max or last of positives):
        # the matrix is not built again (4.9M held-out pairs on issue 13's 20M set).
        if S.RATING not in pairs or not bool((pairs[S.RATING] <= 0).any()):
            return
        built = build_interaction_matrix(pairs, self.users, self.items, duplicates, unknown="drop")
        self.kept_out = union_pairs(self.kept_out, built.left_out)

    def kept_out_items(self, user_id: str) -> frozenset[str]:
        """Items `user_id` rated 0 or below at fit time (fitted or held out)."""
        index = self.users.get(user_id)
        if index is None:
            if self.held_out_users is None:
                return frozenset()
            return self.held_out_users.not_positive(user_id, self.items)
        return row_items(self.kept_out, index, self.items)

    def also_seen_items(self, user_id: str) -> frozenset[str]:
        """Items `user_id` is known to have seen that the fitted history lacks."""
        index = self.users.get(user_id)
        if index is None:
            if self.held_out_users is None:
                return frozenset()
            return self.held_out_users.seen(user_id, self.items)
        return row_items(self.also_seen, index, self.items)

    def save(self, folder: Path) -> None:
        self.users.save(folder / USERS_FILE)
        self.items.save(folder / ITEMS_FILE)
        save_sparse(folder / HISTORY_FILE, self.history)
        if self.also_seen is not None:
            save_sparse(folder / ALSO_SEEN_FILE, self.also_seen)
        if self.kept_out is not None:
            save_sparse(folder / KEPT_OUT_FILE, self.kept_out)
        save_times(folder, self.published_at)
        if self.held_out_users is not None:
            self.held_out_users.save(folder)
        write_json(
            folder / CATALOG_FILE,
            {
                "titles": self.titles,
                "genres": self.genres,
                "typical_value": self.typical_value,
                "events_through": self.events_through,
                "events_unseen": sorted(self.events_unseen),
            },
        )

    @classmethod
    def load(cls, folder: Path) -> FittedCatalog:
        catalog = read_json(folder / CATALOG_FILE)
        history = load_sparse(folder / HISTORY_FILE).astype(np.float32)
        users, items = IdMap.load(folder / USERS_FILE), IdMap.load(folder / ITEMS_FILE)
        if history.shape != (len(users), len(items)):
            raise ValueError(
                f"{folder}: history shape {history.shape} does not match the id "
                f"maps ({len(users)} users, {len(items)} items)"
            )
        also_seen = None
        if (folder / ALSO_SEEN_FILE).exists():  # absent before it existed, or with none
            also_seen = load_sparse(folder / ALSO_SEEN_FILE).astype(np.float32)
            if also_seen.shape != history.shape:
                raise ValueError(f"{folder}: also_seen shape {also_seen.shape} != {history.shape}")
        kept_out = None
        if (folder / KEPT_OUT_FILE).exists():  # absent before it existed, or with none
            kept_out = load_sparse(folder / KEPT_OUT_FILE).astype(np.float32)
            if kept_out.shape != history.shape:
                raise ValueError(f"{folder}: kept_out shape {kept_out.shape} != {history.shape}")
        return cls(
            users,
            items,
            history,
            list(catalog["titles"]),
            list(catalog["genres"]),
            float(catalog["typical_value"]),
            int(catalog.get("events_through", 0)),  # absent in folders saved before it existed
            frozenset(int(seq) for seq in catalog.get("events_unseen", ())),
            also_seen,
            HeldOutUsers.load(folder, len(items)),  # None in folders saved before it existed
            kept_out,
            load_times(folder, len(items)),
        )


def _event_positions(interactions: pd.DataFrame) -> tuple[int, frozenset[int]]:
    """The last event-log position among the interactions (0 when none came from events) and
    the positions within `UNSEEN_WINDOW` below it that are missing from them."""
    if EVENT_SEQ not in interactions.columns:
        return 0, frozenset()
    positions = pd.to_numeric(interactions[EVENT_SEQ], errors="coerce").dropna()
    if positions.empty:
        return 0, frozenset()
    through = int(positions.max())
    first = max(through - UNSEEN_WINDOW, 0) + 1
    window = np.zeros(through - first + 1, dtype=bool)
    recent = positions[positions >= first].to_numpy(dtype=np.int64)
    window[recent - first] = True
    return through, frozenset((np.flatnonzero(~window) + first).tolist())


def _catalog_columns(items: pd.DataFrame | None, item_map: IdMap) -> tuple[list[str], list[str]]:
    if items is None or len(items) == 0:
        return ["" for _ in item_map], ["" for _ in item_map]
    frame = items.assign(**{S.ITEM_ID: items[S.ITEM_ID].astype(str)})
    frame = frame.drop_duplicates(S.ITEM_ID, keep="last").set_index(S.ITEM_ID).reindex(item_map.ids)

    def column(name: str) -> list[str]:
        if name not in frame.columns:
            return ["" for _ in item_map]
        return frame[name].fillna("").astype(str).tolist()

    return column(S.TITLE), column(S.GENRES)


def _genre_key(genre: str) -> str:
    return genre.strip().casefold()
