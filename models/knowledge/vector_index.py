"""Cosine nearest neighbours over L2-normalised vectors: exact below a size, HNSW above it.

Below `ann_threshold` vectors an exact search is one matrix product (1,000 x 384 floats: well
under a millisecond) and has nothing to tune. Above it an hnswlib index answers in about log(n);
it is built once from the vectors held when the threshold is crossed, then grows by
`add_items` like the exact matrix does, so no vector is computed twice. From then on the
vectors live in the graph only: keeping the exact matrix beside it held every vector twice
(with its doubling capacity, up to three times), about 0.5 GB of a worker's memory per
100,000 resolved cases of which a third are Chinese (8 KB vectors).

hnswlib does not make a search safe while `add_items` runs (maintainer, nmslib/hnswlib#562, 2024:
"still not thread-safe"), so the graph is guarded by a lock; a large add enters the graph
`HNSW_ADD_CHUNK` vectors per hold, and a search waiting for the lock is let in between chunks.
Adding a batch of 1,000 under one hold made a worker's `/triage` wait for whole batches while it
read its resolved cases after a start (figures: README "Knowledge base").

A vector is removed (`remove`: a customer's erasure) by label, which stays taken: the exact matrix
zeroes its row and masks it out of every search; the graph marks it deleted (hnswlib's
`mark_deleted`: never returned again, its memory reused by no one until the worker restarts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_ANN_THRESHOLD: Final = 20_000  # exact search costs ~2 ms a query at this size
HNSW_M: Final = 16
HNSW_EF_CONSTRUCTION: Final = 100  # recall against exact search: README "Knowledge base"
HNSW_MIN_EF: Final = 64  # search breadth; at least k
# Vectors added per hold of the graph's lock: a search waits at most for one chunk to enter
# (each vector costs a search of the graph), and hnswlib's per-call cost stays small.
HNSW_ADD_CHUNK: Final = 16
_HANDOFF_TIMEOUT_S: Final = 0.05  # how long a writer waits for waiting searches to go first
_INITIAL_CAPACITY: Final = 1024


class VectorIndex:
    """Cosine index; labels are the positions vectors were added at (0, 1, ...). A removed
    label is never found again and never reused; `len` counts the vectors still held.

    Thread-safe: one writer (a refresh) and many readers (requests). Readers of the exact path
    see a consistent snapshot without a lock; the HNSW index is guarded by a lock because
    hnswlib does not promise that a query during `add_items` or `resize_index` is safe.
    `add_threads` is how many threads hnswlib may use to add vectors (the service gives it the
    worker's share of the cores): building the graph is most of a worker's start-up read.
    """

    def __init__(
        self, dimension: int, ann_threshold: int = DEFAULT_ANN_THRESHOLD, add_threads: int = 1
    ) -> None:
        if add_threads < 1:
            raise ValueError(f"add_threads must be >= 1, got {add_threads}")
        self.dimension = dimension
        self.ann_threshold = ann_threshold
        self.add_threads = add_threads
        self._buffer = np.zeros((0, dimension), dtype=np.float32)
        self._size = 0
        # Removed labels, replaced whole on each removal: a search reads one consistent set.
        self._removed: frozenset[int] = frozenset()
        self._hnsw: object | None = None
        self._lock = threading.Lock()
        self._waiting = 0  # searches waiting for the graph's lock (see `_add_to_hnsw`)
        self._handoff = threading.Condition()

    def __len__(self) -> int:
        return self._size - len(self._removed)

    def remove(self, labels: Iterable[int]) -> int:
        """Remove the vectors of `labels` (those held and not removed yet); returns how many."""
        with self._lock:
            gone = {int(label) for label in labels if 0 <= int(label) < self._size}
            gone -= self._removed
            if not gone:
                return 0
            if self._hnsw is not None:
                for label in sorted(gone):
                    self._hnsw.mark_deleted(label)  # type: ignore[attr-defined]
            else:
                self._buffer[sorted(gone)] = 0.0  # the vector is not kept either
            self._removed = self._removed | gone
            return len(gone)

    @property
    def uses_ann(self) -> bool:
        return self._hnsw is not None

    @property
    def matrix_bytes(self) -> int:
        """Bytes of the exact search's matrix (with its spare capacity); 0 once the graph
        holds the vectors."""
        return int(self._buffer.nbytes)

    def vectors(self, labels: np.ndarray) -> np.ndarray:
        """The held vectors of `labels` (to check the graph against exact search)."""
        labels = np.asarray(labels, dtype=np.int64)
        with self._lock:
            if self._hnsw is None:
                return self._buffer[labels].copy()
            got = self._hnsw.get_items(labels, return_type="numpy")  # type: ignore[attr-defined]
        return np.asarray(got, dtype=np.float32)

    def add(self, vectors: np.ndarray) -> None:
        """Append L2-normalised vectors (n x dimension)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors must be n x {self.dimension}, got {vectors.shape}")
        if len(vectors) == 0:
            return
        if self._hnsw is not None:
            self._add_to_hnsw(vectors)
            return
        with self._lock:
            start, end = self._size, self._size + len(vectors)
            if end > len(self._buffer):
                capacity = max(end, 2 * len(self._buffer), _INITIAL_CAPACITY)
                grown = np.zeros((capacity, self.dimension), dtype=np.float32)
                grown[:start] = self._buffer[:start]
                self._buffer = grown  # readers holding the old buffer keep a valid snapshot
            self._buffer[start:end] = vectors
            if end >= self.ann_threshold:
                self._build_hnsw(end)
            self._size = end  # published last: a reader never sees rows not yet written

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` (labels, cosine similarities) per query row, best first; -1 labels pad rows
        when fewer than `k` vectors are held."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        size = self._size
        # The matrix before the graph: the graph is published before the matrix is dropped, so
        # a reader that got the dropped (empty) matrix finds the graph below.
        buffer = self._buffer
        labels = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        if size == 0 or len(queries) == 0:
            return labels, scores
        if self._hnsw is not None:
            with self._graph_for_search():
                # Counted again under the lock: asked for more than the graph holds undeleted,
                # hnswlib raises instead of returning fewer.
                found = min(k, self._size - len(self._removed))
                if found <= 0:
                    return labels, scores
                index = self._hnsw
                index.set_ef(max(HNSW_MIN_EF, found))  # type: ignore[attr-defined]
                got, distances = index.knn_query(queries, k=found, num_threads=1)  # type: ignore[attr-defined]
            labels[:, :found] = got
            scores[:, :found] = 1.0 - distances  # hnswlib's "ip" space: distance = 1 - dot
            return labels, scores
        # Removed labels this search can meet (one added and removed since `size` was read is
        # beyond it). Only the exact path walks them: it holds fewer vectors than the graph's
        # threshold, while a graph search would pay for every erasure the worker ever saw.
        removed = sorted(label for label in self._removed if label < size)
        found = min(k, size - len(removed))
        if found <= 0:
            return labels, scores
        similarity = queries @ buffer[:size].T
        if removed:
            similarity[:, removed] = -np.inf
        if found < size:
            top = np.argpartition(-similarity, found - 1, axis=1)[:, :found]
        else:
            top = np.broadcast_to(np.arange(size), (len(queries), size))
        top_scores = np.take_along_axis(similarity, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        labels[:, :found] = np.take_along_axis(top, order, axis=1)
        scores[:, :found] = np.take_along_axis(top_scores, order, axis=1)
        return labels, scores

    def _build_hnsw(self, size: int) -> None:
        import hnswlib

        index = hnswlib.Index(space="ip", dim=self.dimension)
        index.init_index(
            max_elements=max(size * 2, _INITIAL_CAPACITY),
            ef_construction=HNSW_EF_CONSTRUCTION,
            M=HNSW_M,
        )
        # Called under the writer's lock, which exact searches never take: readers keep the
        # exact matrix until the graph is published, so the build does not stall them.
        index.add_items(self._buffer[:size], np.arange(size), num_threads=self.add_threads)
        for label in sorted(self._removed):
            index.mark_deleted(label)
        logger.info("knowledge index switched to HNSW at %d cases", size)
        self._hnsw = index
        self._buffer = np.zeros((0, self.dimension), dtype=np.float32)  # the graph holds them

    @contextmanager
    def _graph_for_search(self) -> Iterator[None]:
        with self._handoff:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._handoff:
                self._waiting -= 1
                self._handoff.notify_all()
        try:
            yield
        finally:
            self._lock.release()

    def _add_to_hnsw(self, vectors: np.ndarray) -> None:
        """Add `vectors` a chunk per hold of the lock. Between chunks the writer waits for the
        searches already waiting to take the lock: released alone, it was often re-taken by the
        writer at once, and a search waited for many chunks instead of one."""
        for offset in range(0, len(vectors), HNSW_ADD_CHUNK):
            chunk = vectors[offset : offset + HNSW_ADD_CHUNK]
            with self._lock:
                index = self._hnsw
                start = self._size
                needed = start + len(chunk)
                if needed > index.get_max_elements():  # type: ignore[attr-defined]
                    index.resize_index(2 * needed)  # type: ignore[attr-defined]
                labels = np.arange(start, needed)
                index.add_items(chunk, labels, num_threads=self.add_threads)  # type: ignore[attr-defined]
                self._size = needed
            with self._handoff:
                self._handoff.wait_for(lambda: not self._waiting, _HANDOFF_TIMEOUT_S)
