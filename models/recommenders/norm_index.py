"""Top-k by inner product without scoring the whole catalog: items ordered by norm, plus a graph.

A factor model scores an item as q · v. By Cauchy-Schwarz no item can score above |q| |v|, so
with the items sorted by decreasing norm a request scores them a block at a time and stops as
soon as its k-th best score is at least |q| times the next item's norm: nothing left can beat
it, and the answer is the exact top-k. In a catalog with a popularity tail most items have small
factors, so most requests stop after a few thousand items.

A few users' best scores are weak for their norm (tastes far from every popular item), and the
bound then lets nothing go: on a 1M-item catalog 8 % of users would scan over 100,000 items. So
the scan stops at `max_scan` items; past it, the candidates are those scanned plus the nearest
items by inner product from an HNSW graph (hnswlib) built at training and saved beside the
model, all re-scored exactly. Those answers are approximate; `exact` says which were which.

Why not the graph alone: measured on the same model (ALS factors, 871k recommendable items),
hnswlib's HNSW reached recall@10 0.93-0.95 in inner-product space, faiss' IVF 0.92; the issue's
bar is 0.99 (README, "Large catalogs", and `bench/catalog_retrieval.py --compare-ann`).

Blocks are scored in float32; the surviving candidates are re-scored in float64, the precision
of the full path, so both paths give the same scores and ties break by item order.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import numpy as np
from pydantic import Field

from models.config import FrozenConfig

logger = logging.getLogger(__name__)

# float32 block scores may differ from float64 ones by a few ulps: the stopping test keeps a
# margin of this relative size, and a few extra candidates are carried into the float64 re-score.
_RELATIVE_MARGIN: Final = 1e-4
_EXTRA_CANDIDATES: Final = 8
GRAPH_FILE: Final = "norm_index_graph.hnsw"
_MAX_GRAPH_FETCH: Final = 4000  # a filtered request asks the graph for at most this many
_GRAPH_ADD_CHUNK: Final = 65_536  # vectors copied and added to the graph at a time


class NormIndexConfig(FrozenConfig):
    """When a factor model answers feeds from its norm-ordered items.

    min_items: use it once at least this many items can be recommended (below, scoring every
    item is a few milliseconds anyway); 0 turns it off. first_block / max_block: items scored
    in the first step, doubling up to max_block. exact_below_share: a filter admitting less
    than this share of the catalog scores just the admitted items. max_scan: items a request
    scans before the graph's graph_candidates nearest items join the candidates (a graph with
    degree graph_m, built with beam graph_ef_construction, searched with graph_ef_search).
    """

    min_items: int = Field(default=100_000, ge=0)
    first_block: int = Field(default=2048, ge=64)
    max_block: int = Field(default=65_536, ge=64)
    exact_below_share: float = Field(default=0.02, ge=0.0, le=1.0)
    max_scan: int = Field(default=131_072, ge=0)  # past it, the graph adds them (0: graph only)
    graph_m: int = Field(default=16, ge=4, le=96)
    graph_ef_construction: int = Field(default=100, ge=10)
    graph_candidates: int = Field(default=500, ge=10)
    graph_ef_search: int = Field(default=1000, ge=10)
    graph_threads: int = Field(default=0, ge=0)  # building; 0: every core
    seed: int = 42


class NormOrderedItems:
    """The recommendable items' vectors sorted by decreasing norm, and how to search them."""

    def __init__(
        self,
        vectors: np.ndarray,
        item_indices: np.ndarray,
        config: NormIndexConfig,
        graph: object | None = None,
    ) -> None:
        norms = np.linalg.norm(np.asarray(vectors[item_indices], dtype=np.float64), axis=1)
        order = np.argsort(-norms, kind="stable")
        self.config = config
        self.items = item_indices[order].astype(np.int64)  # catalog index of each position
        self.norms = norms[order]
        if graph is not None and (mismatch := _graph_mismatch(graph, vectors, self.items)):
            # Another model's graph (a copied file, a folder put together by hand) would give
            # candidates of other items, or labels past this catalog (an IndexError per request).
            logger.warning("the saved HNSW graph is not this model's (%s): building it", mismatch)
            graph = None
        self.graph = graph if graph is not None else self._build_graph(vectors)
        # With a graph the scan stops at max_scan: only that many ordered vectors are kept (a
        # million 384-d embeddings would otherwise hold a second 1.5 GB table).
        kept = len(self.items) if self.graph is None else min(len(self.items), config.max_scan)
        self.vectors = np.ascontiguousarray(vectors[self.items[:kept]], dtype=np.float32)
        logger.info("ordered %d items by norm for pruned top-k", len(self.items))

    def _build_graph(self, vectors: np.ndarray) -> object | None:
        """The inner-product HNSW graph over the items, when a scan can be cut short."""
        if len(self.items) <= self.config.max_scan:
            return None  # every request can scan the whole catalog within max_scan
        import hnswlib

        config = self.config
        graph = hnswlib.Index(space="ip", dim=vectors.shape[1])
        graph.init_index(
            max_elements=len(self.items),
            M=config.graph_m,
            ef_construction=config.graph_ef_construction,
            random_seed=config.seed,
        )
        for start in range(0, len(self.items), _GRAPH_ADD_CHUNK):  # no second full table
            labels = self.items[start : start + _GRAPH_ADD_CHUNK]
            chunk = np.ascontiguousarray(vectors[labels], dtype=np.float32)
            graph.add_items(chunk, labels, num_threads=config.graph_threads or -1)
        _settle(graph, config)
        logger.info("built an HNSW graph over %d items", len(self.items))
        return graph

    def save_graph(self, folder: Path) -> None:
        """Write the graph beside the model (hnswlib's own format, no pickle)."""
        if self.graph is not None:
            self.graph.save_index(str(folder / GRAPH_FILE))  # type: ignore[attr-defined]

    @staticmethod
    def load_graph(folder: Path, dimension: int, config: NormIndexConfig) -> object | None:
        """The saved graph, or None (a model saved without one, or with a graph of vectors of
        another dimension, builds it when it loads)."""
        path = folder / GRAPH_FILE
        if not path.exists():
            return None
        saved = _saved_graph_dimension(path)
        if saved != dimension:
            # hnswlib loads it anyway and then reads its vectors with the wrong stride.
            logger.warning(
                "the saved HNSW graph holds %s-dimensional vectors, the model's have %d: "
                "building it",
                saved,
                dimension,
            )
            return None
        import hnswlib

        graph = hnswlib.Index(space="ip", dim=dimension)
        graph.load_index(str(path))
        _settle(graph, config)
        return graph

    def __len__(self) -> int:
        return len(self.items)

    def top_candidates(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        seen: np.ndarray | None = None,
        admitted_share: float | None = None,
    ) -> tuple[np.ndarray, int, bool]:
        """Catalog indices of candidates for the top-k admitted items, how many items were
        scanned, and whether the candidates surely hold the exact top-k (the scan stopped on
        its bound) or came partly from the graph. `allowed` (a catalog-wide mask) and `seen`
        (catalog indices) exclude items; `admitted_share`: the share `allowed` admits, if known."""
        wanted = k + _EXTRA_CANDIDATES
        query32 = np.asarray(query, dtype=np.float32)
        query_norm = float(np.linalg.norm(np.asarray(query, dtype=np.float64)))
        kept_items = np.zeros(0, dtype=np.int64)
        kept_scores = np.zeros(0, dtype=np.float32)
        total = len(self.items)
        limit = total if self.graph is None else min(total, self.config.max_scan)
        position, block = 0, self.config.first_block
        while position < limit:
            end = min(position + block, limit)
            items = self.items[position:end]
            scores = self.vectors[position:end] @ query32
            keep = np.ones(len(items), dtype=bool)
            if allowed is not None:
                keep &= allowed[items]
            if seen is not None and len(seen):
                keep &= ~np.isin(items, seen)
            kept_items = np.concatenate([kept_items, items[keep]])
            kept_scores = np.concatenate([kept_scores, scores[keep]])
            if len(kept_items) > wanted:
                best = np.argpartition(-kept_scores, wanted - 1)[:wanted]
                kept_items, kept_scores = kept_items[best], kept_scores[best]
            position = end
            if position < total and len(kept_items) >= wanted:
                floor = float(kept_scores.min())
                ceiling = query_norm * float(self.norms[position])
                if floor - abs(floor) * _RELATIVE_MARGIN >= ceiling:
                    return kept_items, position, True  # nothing left can beat the kept
            block = min(block * 2, self.config.max_block)
        if position >= total:
            return kept_items, position, True
        # A filter drops most of what the graph finds: ask it for proportionally more. Seen
        # items are dropped too, and they are among the nearest (a history's profile points at
        # its own items): ask for that many more as well.
        if admitted_share is None:
            admitted_share = 1.0 if allowed is None else float(np.mean(allowed))
        share = max(admitted_share, 1e-3)
        wanted_from_graph = int(self.config.graph_candidates / share)
        wanted_from_graph += 0 if seen is None else len(seen)
        fetch = min(wanted_from_graph, _MAX_GRAPH_FETCH, total)
        found = self._graph_candidates(query32, fetch)
        return np.union1d(kept_items, found), position, False

    def _graph_candidates(self, query32: np.ndarray, fetch: int) -> np.ndarray:
        """The graph's nearest items by inner product (masks are applied by the caller)."""
        try:
            labels, _ = self.graph.knn_query(  # type: ignore[attr-defined]
                query32.reshape(1, -1), k=fetch, num_threads=1
            )
        except RuntimeError:
            # The graph reached fewer items than asked (inner product is not a metric, so a
            # small graph can strand some): every item is a candidate, the answer exact.
            return self.items
        return labels[0].astype(np.int64)


def _saved_graph_dimension(path: Path) -> int | None:
    """The vector dimension in a saved hnswlib index's header (six little-endian size_t, the
    fifth and sixth the offsets of an element's label and of its float32 vector), or None."""
    with path.open("rb") as saved:
        header = saved.read(48)
    if len(header) < 48:
        return None
    label_offset, data_offset = np.frombuffer(header, dtype="<u8")[4:6]
    return int(label_offset - data_offset) // 4 if label_offset > data_offset else None


def _graph_mismatch(graph: object, vectors: np.ndarray, items: np.ndarray) -> str | None:
    """Why `graph` was not built over `items`' `vectors`, or None: the same item labels, and
    a sample of its stored vectors equal to the model's."""
    count = graph.get_current_count()  # type: ignore[attr-defined]
    if count != len(items):
        return f"{count} items, the model has {len(items)}"
    labels = np.sort(np.asarray(graph.get_ids_list(), dtype=np.int64))  # type: ignore[attr-defined]
    if not np.array_equal(labels, np.sort(items)):
        return "other item labels"
    sample = items[:: max(1, len(items) // 64)]
    stored = np.asarray(graph.get_items(sample), dtype=np.float32)  # type: ignore[attr-defined]
    if not np.array_equal(stored, np.asarray(vectors[sample], dtype=np.float32)):
        return "other item vectors"
    return None


def _settle(graph: object, config: NormIndexConfig) -> None:
    # Set once, never per request: hnswlib's ef is shared by concurrent queries.
    graph.set_ef(max(config.graph_ef_search, config.graph_candidates))  # type: ignore[attr-defined]
    graph.set_num_threads(1)  # type: ignore[attr-defined]
