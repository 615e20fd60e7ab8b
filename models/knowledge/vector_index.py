"""Cosine nearest neighbours over L2-normalised vectors: exact below a size, HNSW above it.

Below `ann_threshold` vectors an exact search is one matrix product (1,000 x 384 floats: well
under a millisecond) and has nothing to tune. Above it an hnswlib index answers in about log(n);
it is built once from the vectors held when the threshold is crossed, then grows by
`add_items` like the exact matrix does, so no vector is computed twice. From then on the
vectors live in the graph only: keeping the exact matrix beside it held every vector twice
(with its doubling capacity, up to three times), about 0.5 GB of a worker's memory per
100,000 resolved cases of which a third are Chinese (8 KB vectors).
"""

from __future__ import annotations

import logging
import threading
from typing import Final

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_ANN_THRESHOLD: Final = 20_000  # exact search costs ~2 ms a query at this size
HNSW_M: Final = 16
HNSW_EF_CONSTRUCTION: Final = 200
HNSW_MIN_EF: Final = 64  # search breadth; at least k
_INITIAL_CAPACITY: Final = 1024


class VectorIndex:
    """Append-only cosine index; labels are the positions vectors were added at (0, 1, ...).

    Thread-safe: one writer (a refresh) and many readers (requests). Readers of the exact path
    see a consistent snapshot without a lock; the HNSW index is guarded by a lock because
    hnswlib does not promise that a query during `add_items` or `resize_index` is safe.
    """

    def __init__(self, dimension: int, ann_threshold: int = DEFAULT_ANN_THRESHOLD) -> None:
        self.dimension = dimension
        self.ann_threshold = ann_threshold
        self._buffer = np.zeros((0, dimension), dtype=np.float32)
        self._size = 0
        self._hnsw: object | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    @property
    def uses_ann(self) -> bool:
        return self._hnsw is not None

    @property
    def matrix_bytes(self) -> int:
        """Bytes of the exact search's matrix (with its spare capacity); 0 once the graph
        holds the vectors."""
        return int(self._buffer.nbytes)

    def add(self, vectors: np.ndarray) -> None:
        """Append L2-normalised vectors (n x dimension)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors must be n x {self.dimension}, got {vectors.shape}")
        if len(vectors) == 0:
            return
        with self._lock:
            start, end = self._size, self._size + len(vectors)
            if self._hnsw is not None:
                self._add_to_hnsw(vectors, start)
                self._size = end
                return
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
        found = min(k, size)
        if found == 0 or len(queries) == 0:
            return labels, scores
        if self._hnsw is not None:
            with self._lock:
                index = self._hnsw
                index.set_ef(max(HNSW_MIN_EF, found))  # type: ignore[attr-defined]
                got, distances = index.knn_query(queries, k=found, num_threads=1)  # type: ignore[attr-defined]
            labels[:, :found] = got
            scores[:, :found] = 1.0 - distances  # hnswlib's "ip" space: distance = 1 - dot
            return labels, scores
        similarity = queries @ buffer[:size].T
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
        index.add_items(self._buffer[:size], np.arange(size), num_threads=1)
        logger.info("knowledge index switched to HNSW at %d cases", size)
        self._hnsw = index
        self._buffer = np.zeros((0, self.dimension), dtype=np.float32)  # the graph holds them

    def _add_to_hnsw(self, vectors: np.ndarray, start: int) -> None:
        index = self._hnsw
        needed = start + len(vectors)
        if needed > index.get_max_elements():  # type: ignore[attr-defined]
            index.resize_index(2 * needed)  # type: ignore[attr-defined]
        index.add_items(vectors, np.arange(start, needed), num_threads=1)  # type: ignore[attr-defined]
