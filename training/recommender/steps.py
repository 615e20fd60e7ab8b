"""Plain pipeline steps shared by `agora train recommender` and `agora benchmark recommender`.

Each step takes typed inputs and returns values; none touches MLflow (see `tracking`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import resource
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.events import EVENT_SEQ
from data.id_categories import concat_id_frames, is_sorted_id_categorical
from data.loaders import available_kinds, load_interactions, load_items
from data.schemas import ITEM_ID, PUBLISHED_AT, USER_ID, Kind, conform
from features.parallel_sort import sort_in_place
from features.splits import require_both_parts, stratified_split
from models.recommenders import create_recommender, recommender_config
from training.recommender.config import SplitConfig

logger = logging.getLogger(__name__)

SPLIT_METHOD = "per-user stratified random"


@dataclass
class _Fingerprint:
    """A split's held-out fingerprint, computed once whichever thread asks first (the others
    wait for it): copies of a split with more training data share it, as their test is one."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    value: str | None = None


@dataclass(frozen=True)
class SplitData:
    """A dataset split for one protocol: training and held-out interactions plus item metadata."""

    dataset: str
    train: pd.DataFrame
    test: pd.DataFrame
    items: pd.DataFrame | None
    split: SplitConfig
    extra_rows: int = 0  # interactions added to training beyond the dataset (stored events)
    extra_sha256: str | None = None
    # The last event-log position among them (0: none came from the event log).
    extra_events_through: int = 0
    extra_items: int = 0  # items described beyond the dataset's (published to the store)
    extra_items_sha256: str | None = None
    _fingerprint: _Fingerprint = field(default_factory=_Fingerprint, compare=False, repr=False)

    def lineage(self) -> dict[str, Any]:
        """How the data was split, for `training.tracking.log_lineage`."""
        return {
            "method": SPLIT_METHOD,
            "train_ratio": self.split.train_ratio,
            "seed": self.split.seed,
            "train_rows": len(self.train),
            "test_rows": len(self.test),
            "extra_train_rows": self.extra_rows,
            "extra_train_sha256": self.extra_sha256 or "none",
            "extra_train_events_through": self.extra_events_through,
            "extra_items": self.extra_items,
            "extra_items_sha256": self.extra_items_sha256 or "none",
        }

    def with_extra_train(self, extra: pd.DataFrame) -> SplitData:
        """This split with `extra` interactions added to training (the test split unchanged).

        Columns beyond the dataset's are kept (e.g. `event_seq`, which the fitted model records
        so a feed folds in only the events it was not trained on).
        """
        extra = conform(extra, Kind.INTERACTIONS)
        digest = hashlib.sha256(extra.to_csv(index=False).encode()).hexdigest()
        train = concat_id_frames(self.train, extra)
        through = int(extra[EVENT_SEQ].max()) if EVENT_SEQ in extra and len(extra) else 0
        return replace(
            self,
            train=train,
            extra_rows=len(extra),
            extra_sha256=digest,
            extra_events_through=through,
        )

    def with_extra_items(self, extra: pd.DataFrame) -> SplitData:
        """This split with `extra` item descriptions in its catalog (items a platform published
        after the dataset was exported): an item the dataset describes too takes `extra`'s
        description, the platform's latest word on it, but keeps the dataset's publication time
        (an edit does not make an old post new). Interactions are unchanged."""
        extra = conform(extra, Kind.ITEMS)
        if not len(extra):
            return self
        # What was published, as the store gave it (a retrain compares it with its champion's).
        digest = hashlib.sha256(extra.to_csv(index=False).encode()).hexdigest()
        items = extra
        if self.items is not None:
            described = conform(self.items, Kind.ITEMS).astype({ITEM_ID: str})
            known = described.set_index(ITEM_ID)[PUBLISHED_AT]
            known = known[(known > 0) & ~known.index.duplicated(keep="last")]
            dated = extra[ITEM_ID].map(known)
            extra = extra.assign(
                **{PUBLISHED_AT: dated.fillna(extra[PUBLISHED_AT]).astype("int64")}
            )
            kept = self.items[~self.items[ITEM_ID].astype(str).isin(extra[ITEM_ID])]
            # conform: a column only one side has (free text, say) is "" for the other's rows
            items = conform(pd.concat([kept.astype({ITEM_ID: str}), extra]), Kind.ITEMS)
        return replace(self, items=items, extra_items=len(extra), extra_items_sha256=digest)

    def fingerprint(self) -> str:
        """sha256 of the sorted test pairs: equal only for the same held-out data."""
        with self._fingerprint.lock:
            if self._fingerprint.value is None:
                self._fingerprint.value = pairs_fingerprint(self.dataset, self.test)
            return self._fingerprint.value


def pairs_fingerprint(dataset: str, frame: pd.DataFrame) -> str:
    """sha256 of the dataset name and the (user, item) pairs sorted, as pandas writes them to CSV.

    Registered versions carry this digest and the promotion gate compares it, so its value must
    never change. Pairs are sorted and joined with Arrow (5M test pairs: 0.5 s against 4 s for
    pandas' sort and `to_csv`), which gives the same bytes whenever no id needs CSV quoting; ids
    with a comma, a quote or a line break take pandas' own path.
    """
    digest = hashlib.sha256(dataset.encode())
    digest.update(_pairs_csv(frame[USER_ID], frame[ITEM_ID]))
    return digest.hexdigest()


_NEEDS_QUOTING = r'[,"\r\n]'


def _pairs_csv(users: pd.Series, items: pd.Series) -> bytes:
    """`frame[[USER_ID, ITEM_ID]].astype(str).sort_values(both).to_csv(index=False)`, encoded."""
    # Codes sorted as the ids sort (UTF-8 byte order is code point order, the order of pandas'
    # sort of Python strings), then one integer sort: faster than Arrow's two-key string sort.
    # Ids repeat (4M test pairs, 300k users): the distinct ids are checked and converted once.
    user_codes, user_ids = _sorted_codes(users)
    item_codes, item_ids = _sorted_codes(items)
    distinct = [_as_arrow_strings(pd.Series(user_ids)), _as_arrow_strings(pd.Series(item_ids))]
    if (
        (user_codes < 0).any()
        or (item_codes < 0).any()
        or any(ids is None for ids in distinct)
        or any(pc.any(pc.match_substring_regex(ids, _NEEDS_QUOTING)).as_py() for ids in distinct)
    ):
        pairs = pd.DataFrame({USER_ID: users.to_numpy(), ITEM_ID: items.to_numpy()})
        pairs = pairs.astype(str).sort_values([USER_ID, ITEM_ID])
        return pairs.to_csv(index=False).encode()
    # Equal pairs give equal lines, so sorting the packed pairs themselves (not their row
    # indices) is enough: 5M test pairs in 0.35 s against 0.9 s for an argsort.
    width = max(len(item_ids), 1)
    pairs = user_codes.astype(np.int64) * width + item_codes
    sort_in_place(pairs)
    sorted_users = pc.take(distinct[0], pa.array(pairs // width))
    sorted_items = pc.take(distinct[1], pa.array(pairs % width))
    comma, newline, empty = (pa.scalar(x, pa.large_string()) for x in (",", "\n", ""))
    lines = pc.binary_join_element_wise(sorted_users, sorted_items, comma)
    lines = pc.binary_join_element_wise(lines, empty, newline)  # each pair, then a line break
    chunks = lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]
    body = b"".join(_string_bytes(chunk) for chunk in chunks)
    return f"{USER_ID},{ITEM_ID}\n".encode() + body


def _sorted_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes numbering the column's ids in sorted order, and those ids (-1: missing)."""
    if is_sorted_id_categorical(column):  # its categories are the ids, sorted: nothing to hash
        return column.cat.codes.to_numpy(), column.cat.categories
    if isinstance(column.dtype, pd.CategoricalDtype):  # categories in another order
        column = column.astype(str)
    return pd.factorize(column, sort=True)


def _as_arrow_strings(column: pd.Series) -> pa.Array | None:
    """The column as an Arrow string array without nulls, or None when it is not plain text
    (numbers, nulls: their `str()` spelling is pandas' business)."""
    if not (pd.api.types.is_string_dtype(column.dtype) or column.dtype == object):
        return None
    try:
        array = pa.array(column, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return None if array.null_count else array


def _string_bytes(array: pa.Array) -> bytes:
    """The concatenated values of a null-free Arrow (large) string array."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    return array.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def load_dataset(
    dataset: str, id_categories: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The dataset's interactions and, when it has them, its items; `id_categories` reads the
    interactions' ids as sorted categoricals (see `data.id_categories`)."""
    interactions = load_interactions(dataset, id_categories=id_categories)
    items = load_items(dataset) if Kind.ITEMS in available_kinds(dataset) else None
    # Users and items are counted where the id maps are built (the fitted catalog's log line):
    # counting them here hashed every id once more (2 s at 20M rows).
    logger.info("%s: %d interactions", dataset, len(interactions))
    return interactions, items


def prepare_split(dataset: str, split: SplitConfig) -> SplitData:
    """Load `dataset` and split it by `split` (the test protocol).

    The ids are read as sorted categoricals: every step after this one (the split, the id maps,
    the fingerprint, evaluation) then works on codes rather than hashing each row's text again.
    """
    interactions, items = load_dataset(dataset, id_categories=True)
    train, test = stratified_split(interactions, ratio=split.train_ratio, seed=split.seed)
    require_both_parts(train, test, f"dataset '{dataset}'")
    return SplitData(dataset=dataset, train=train, test=test, items=items, split=split)


class SplitInBackground:
    """`prepare_split` on a thread of its own, started before the command imports the rest of
    the pipeline: reading and splitting a large dataset then overlaps that start-up (importing
    MLflow, opening the tracking store), which keeps only one core busy. Once the split is handed
    over, the thread goes on to its held-out fingerprint, which registration needs, while the
    caller builds the training matrix on one core (20M interactions: 0.7 s of sorting and
    hashing; the two contend, so it saved a median 0.1 s in nine measurements, -0.1 to 0.7 s).

    The thread is not a daemon: a command that fails meanwhile (a tracking store that does not
    answer) exits once the thread is done, never with a thread still writing its log. Start it
    only after everything that can be checked without data was checked.
    """

    def __init__(self, dataset: str, split: SplitConfig) -> None:
        self.dataset = dataset
        self.seconds = 0.0  # what the preparation took, once it is done
        self._data: SplitData | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._prepare, args=(split,), name=f"split-{dataset}", daemon=False
        )
        self._thread.start()

    def _prepare(self, split: SplitConfig) -> None:
        started = time.perf_counter()
        try:
            self._data = prepare_split(self.dataset, split)
        except BaseException as error:  # handed to the caller of `result`, who reports it
            self._error = error
        finally:
            self.seconds = time.perf_counter() - started
            self._ready.set()
        if self._data is not None:
            with contextlib.suppress(Exception):  # the caller's own call computes and reports it
                self._data.fingerprint()

    def result(self) -> SplitData:
        """The split, once prepared; raises what `prepare_split` raised."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._data is not None
        return self._data


def fit_recommender(
    name: str, params: dict[str, Any], train: pd.DataFrame, items: pd.DataFrame | None
) -> tuple[Any, float]:
    """Build and fit model `name` on `train`; return it with the fit's wall-clock seconds."""
    model = create_recommender(name, recommender_config(name, params))
    started = time.perf_counter()
    model.fit(train, items)
    seconds = time.perf_counter() - started
    logger.info("fitted %s on %d interactions in %.1f s", name, len(train), seconds)
    return model, seconds


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux counts ru_maxrss in KiB,
    macOS in bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
