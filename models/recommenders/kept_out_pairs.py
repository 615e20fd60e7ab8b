"""Pairs a user rated 0 or below at fit time: kept out of their feeds, asked-for seen items or not.

An imported event log values a hide or a report as a (user, item) pair at rating 0 (see
data.event_import), and a ratings file may hold zeros or thumbs-down. Such a pair is no evidence
of taste, so the fit leaves it out, and it used to be kept only among the items `exclude_seen`
masks: a client asking for seen items again (`exclude_seen=false`, "show me posts I viewed")
got the posts the user hid or reported back. A feed now keeps these pairs out always, as it keeps
out a complaint or dislike posted to `/events`; like a posted dislike, a later posted event worth
a like (`data.events.lifts_dislike`) lifts one, since the import stores hides and reports alike
and the user's own later like is the clearer word.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from data.events import DISLIKE_LIFT_VALUE
from features.idmap import IdMap
from features.user_history import Interaction

KEPT_OUT_FILE = "kept_out.npz"


def union_pairs(
    existing: sp.csr_matrix | None, added: sp.csr_matrix | None
) -> sp.csr_matrix | None:
    """Both sets of pairs as one CSR of ones (either may be None)."""
    if added is None or added.nnz == 0:
        return existing
    ones = (added != 0).astype(np.float32).tocsr()
    if existing is None:
        return ones
    return ((existing != 0) + (ones != 0)).astype(np.float32).tocsr()


def row_items(pairs: sp.csr_matrix | None, index: int | None, items: IdMap) -> frozenset[str]:
    """The item ids of row `index` of `pairs` (empty for no row or no pairs)."""
    if pairs is None or index is None:
        return frozenset()
    start, stop = pairs.indptr[index], pairs.indptr[index + 1]
    return frozenset(items.ids_of(pairs.indices[start:stop]))


def pair_rows(pairs: sp.csr_matrix | None, user_indices: np.ndarray) -> sp.csr_matrix | None:
    """The rows of `pairs` for `user_indices` (non-zero where kept out); None with no pairs."""
    if pairs is None:
        return None
    return pairs[np.asarray(user_indices, dtype=np.int64).ravel()]


def still_kept_out(kept_out: frozenset[str], new: Sequence[Interaction]) -> frozenset[str]:
    """`kept_out` without the items a newer event worth a like names (the user changed their
    mind since the fit); `new` holds only interactions the model was not fitted on."""
    if not kept_out or not new:
        return kept_out
    lifted = {i.item_id for i in new if i.value >= DISLIKE_LIFT_VALUE}
    return kept_out - lifted
