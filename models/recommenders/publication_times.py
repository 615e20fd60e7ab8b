"""When each catalog item was published, for feeds that ask for recent items only.

A community platform's posts lose interest within days, and a model fitted on two months of
events keeps scoring the posts of its whole window. An items file's publication column
(`data.schemas.PUBLISHED_AT`) is kept with the fitted catalog, so a feed request may say
`published_after` (`ItemFilter`) and get only posts from then on. An item whose time is unknown
(0: the file had no such column, or a blank) is never admitted by that filter: the client asked
for recent items and nothing says this one is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data import schemas as S
from features.idmap import IdMap

PUBLISHED_AT_FILE = "published_at.npy"


class NoPublicationTimesError(ValueError):
    """A recency filter was asked of a model whose catalog has no publication times."""

    def __init__(self) -> None:
        super().__init__(
            "the served model's items carry no publication time, so a recency filter would "
            "admit none: import the items with --map published_at=COLUMN and retrain"
        )


def publication_times(items: pd.DataFrame | None, item_map: IdMap) -> np.ndarray | None:
    """Epoch seconds per item of `item_map` (int64, 0 unknown); None when no item has one."""
    if items is None or S.PUBLISHED_AT not in items.columns or len(items) == 0:
        return None
    frame = items[[S.ITEM_ID, S.PUBLISHED_AT]].assign(**{S.ITEM_ID: items[S.ITEM_ID].astype(str)})
    frame = frame.drop_duplicates(S.ITEM_ID, keep="last").set_index(S.ITEM_ID)
    times = frame[S.PUBLISHED_AT].reindex(item_map.ids).fillna(0).to_numpy(dtype=np.int64)
    return times if bool((times > 0).any()) else None


def published_since(times: np.ndarray | None, after: int) -> np.ndarray:
    """Boolean per item: published at or after `after` (epoch seconds)."""
    if times is None:
        raise NoPublicationTimesError()
    return times >= after


def save_times(folder: Path, times: np.ndarray | None) -> None:
    if times is not None:
        np.save(folder / PUBLISHED_AT_FILE, times, allow_pickle=False)


def load_times(folder: Path, n_items: int) -> np.ndarray | None:
    """The folder's publication times; None in a folder saved without them (or before them)."""
    path = folder / PUBLISHED_AT_FILE
    if not path.exists():
        return None
    times = np.load(path, allow_pickle=False).astype(np.int64)
    if times.shape != (n_items,):
        raise ValueError(f"{folder}: {len(times)} publication times for {n_items} items")
    return times
