"""Users the fit never saw, kept with the pairs held out to evaluate the model.

A per-user split holds out a share of every user's pairs, and a user with a single pair (a
long-tail log has many: a quarter of the evaluated users of one community export) has it held
out whole. The fitted model then does not know them: their feed fell back to popular items, the
item they had acted on among them, however clearly that item said what they like. The training
pipeline keeps those users' held-out pairs beside the model (`HeldOutUsers`); a feed takes them
as the user's history at fit time, folds them in as it folds in events newer than the fit, and
leaves them out as seen.

Users the fit knows keep their fitted history as it was: their held-out pairs are only kept as
seen (the catalog's `also_seen`), so the feeds the training evaluated are the feeds served, and
batch jobs (which score fitted users only) give what the service gives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from data import schemas as S
from features.idmap import MISSING, IdMap
from features.interactions import DuplicatePolicy, build_interaction_matrix
from features.user_history import UserHistory
from models.artifacts import load_sparse, save_sparse

logger = logging.getLogger(__name__)

HELD_OUT_USERS_FILE = "held_out_users.json"
HELD_OUT_HISTORY_FILE = "held_out_history.npz"
# A stored value marking a pair seen without positive evidence (merged rating 0 or below): kept
# out of the user's feeds, never folded in. Positive values are the merged ratings themselves.
NOT_POSITIVE = -1.0


@dataclass(frozen=True)
class HeldOutUsers:
    """The held-out pairs of the users the fit never saw: users × the catalog's items."""

    users: IdMap
    pairs: sp.csr_matrix  # float32; > 0: the pair's merged value; NOT_POSITIVE: seen only

    @classmethod
    def from_pairs(
        cls,
        held_out: pd.DataFrame,
        fitted_users: IdMap,
        items: IdMap,
        duplicates: DuplicatePolicy,
    ) -> HeldOutUsers | None:
        """The pairs of `held_out` whose user is not in `fitted_users`, merged by the model's
        `duplicates` policy as its training rows were; items outside `items` are dropped (the
        model can neither fold them in nor offer them). None when no such user has one."""
        unfitted = held_out[fitted_users.lookup(held_out[S.USER_ID]) == MISSING]
        if unfitted.empty:
            return None
        built = build_interaction_matrix(
            unfitted, items=items, duplicates=duplicates, unknown="drop"
        )
        pairs = built.matrix.astype(np.float32)
        if built.left_out is not None:
            pairs = (pairs + built.left_out.astype(np.float32) * NOT_POSITIVE).tocsr()
        if pairs.nnz == 0:  # every pair names an item the model does not have
            return None
        logger.info(
            "%d users the fit never saw kept with their %d held-out pairs",
            len(built.users),
            pairs.nnz,
        )
        return cls(built.users, pairs)

    def __len__(self) -> int:
        return len(self.users)

    def _row(self, user_id: str) -> tuple[np.ndarray, np.ndarray]:
        index = self.users.get(user_id)
        if index is None:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        start, stop = self.pairs.indptr[index], self.pairs.indptr[index + 1]
        return self.pairs.indices[start:stop], self.pairs.data[start:stop]

    def history(self, user_id: str, items: IdMap) -> UserHistory:
        """The user's positive held-out pairs as a history (empty for any other user)."""
        columns, values = self._row(user_id)
        positive = values > 0
        return UserHistory(tuple(items.ids_of(columns[positive])), tuple(values[positive].tolist()))

    def seen(self, user_id: str, items: IdMap) -> frozenset[str]:
        """Every item of the user's held-out pairs, positive or not."""
        return frozenset(items.ids_of(self._row(user_id)[0]))

    def not_positive(self, user_id: str, items: IdMap) -> frozenset[str]:
        """The items of the user's held-out pairs rated 0 or below (kept out of their feeds)."""
        columns, values = self._row(user_id)
        return frozenset(items.ids_of(columns[values <= 0]))

    def save(self, folder: Path) -> None:
        self.users.save(folder / HELD_OUT_USERS_FILE)
        save_sparse(folder / HELD_OUT_HISTORY_FILE, self.pairs)

    @classmethod
    def load(cls, folder: Path, n_items: int) -> HeldOutUsers | None:
        """The folder's held-out users; None in a folder saved without any (or before them)."""
        if not (folder / HELD_OUT_USERS_FILE).exists():
            return None
        users = IdMap.load(folder / HELD_OUT_USERS_FILE)
        pairs = load_sparse(folder / HELD_OUT_HISTORY_FILE).astype(np.float32)
        if pairs.shape != (len(users), n_items):
            raise ValueError(
                f"{folder}: held-out history shape {pairs.shape} does not match its "
                f"{len(users)} users and the catalog's {n_items} items"
            )
        return cls(users, pairs)
