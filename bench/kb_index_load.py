"""Benchmark: a worker's knowledge-base load at volume, and what searches wait meanwhile.

In process, on a store filled by `bench/history_fill.py`: reads the first `--resolutions`
resolutions in batches of 1,000 (as `ServedKnowledge.catch_up` does) into the service's
`ScriptRoutedKnowledgeBase`, with each base switching to HNSW at `--ann-threshold` cases (20,000
in the service; lower here so a smaller store exercises the graph). Meanwhile a reader thread asks
`similar` for an English and a Chinese complaint in turn every `--query-every-ms` (as `/triage`
would), and the latency of those searches is reported: p50 / p99 / max, the stall this bench is
about. Then, for each base on HNSW, recall@10 of its graph against exact search over the vectors it
holds (300 held cases as queries, each excluding itself), and a sweep rebuilding that graph from
the same vectors at several `ef_construction` values and thread counts: build time and recall@10;
the sweep again on the distinct vectors alone (the filled store copies a few thousand messages).

    python bench/kb_index_load.py --store-url sqlite:////tmp/year.db --home HOME \
        [--resolutions 30000] [--ann-threshold 5000] [--index-threads 2] [--no-sweep]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

from data.environment import apply_stack_environment
from data.store import Store
from models.classifiers.onnx_runner import set_inference_threads
from models.knowledge import (
    DEFAULT_KB_ENCODER,
    MIN_SIMILARITY,
    LazyEncoder,
    ScriptRoutedKnowledgeBase,
    VectorIndex,
    knowledge_encoder,
)
from models.knowledge.vector_index import HNSW_M

QUERIES = (
    "flight delayed 5 hours, missed my connection, want a refund",
    "外卖送到的时候已经凉了，而且少了一份米饭",
)
RECALL_K = 10
RECALL_QUERIES = 300


def load(store: Store, base: ScriptRoutedKnowledgeBase, resolutions: int) -> float:
    """Read the resolutions into `base` in the service's batches; returns seconds taken."""
    started = time.perf_counter()
    last = 0
    while last < resolutions:
        batch = store.resolutions.cases_after(last)
        if not batch:
            break
        batch = [case for case in batch if case.seq <= resolutions]
        base.add(batch)
        last = batch[-1].seq if batch else resolutions
    return time.perf_counter() - started


def searches_during(
    base: ScriptRoutedKnowledgeBase, every_s: float, done: threading.Event
) -> list[float]:
    """Milliseconds each `similar` call took, asked every `every_s` until `done`."""
    took: list[float] = []
    threshold = MIN_SIMILARITY[DEFAULT_KB_ENCODER]
    turn = 0
    while not done.is_set():
        text = QUERIES[turn % len(QUERIES)]
        turn += 1
        if len(base):
            started = time.perf_counter()
            base.similar([text], 3, min_similarity=threshold)
            took.append((time.perf_counter() - started) * 1000)
        done.wait(every_s)
    return took


def recall(found: np.ndarray, queries: np.ndarray, vectors: np.ndarray, own: np.ndarray) -> float:
    """Mean share of `found` (each query's RECALL_K nearest, itself excluded) at least as similar
    as its exact RECALL_K-th nearest. By similarity, not by label: the filled store holds many
    copies of one message, and which of equal vectors exact search lists first is arbitrary."""
    hits = 0
    for row, label in enumerate(own):
        similarity = vectors @ queries[row]
        similarity[label] = -np.inf
        kth = np.partition(similarity, -RECALL_K)[-RECALL_K]
        got = [x for x in found[row] if x != label and x >= 0][:RECALL_K]
        hits += int((similarity[got] >= kth - 1e-5).sum())
    return hits / (len(own) * RECALL_K)


def graph_quality(
    name: str, vectors: np.ndarray, index: VectorIndex | None, sweep: list[tuple[int, int]]
) -> None:
    import hnswlib

    picked = min(RECALL_QUERIES, len(vectors))
    own = np.random.default_rng(0).choice(len(vectors), picked, replace=False)
    queries = vectors[own]
    print(f"{name}: {len(vectors):,} cases, {vectors.shape[1]} floats")
    if index is not None:
        served, _ = index.search(queries, RECALL_K + 1)
        print(f"  served graph recall@{RECALL_K} {recall(served, queries, vectors, own):.4f}")
    for ef_construction, threads in sweep:
        graph = hnswlib.Index(space="ip", dim=vectors.shape[1])
        graph.init_index(len(vectors), ef_construction=ef_construction, M=HNSW_M)
        started = time.perf_counter()
        graph.add_items(vectors, np.arange(len(vectors)), num_threads=threads)
        built = time.perf_counter() - started
        graph.set_ef(64)
        got, _ = graph.knn_query(queries, k=RECALL_K + 1, num_threads=1)
        print(
            f"  ef_construction {ef_construction:>3}, {threads} thread(s): built in "
            f"{built:6.1f} s, recall@{RECALL_K} {recall(got, queries, vectors, own):.4f}",
            flush=True,
        )


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store-url", required=True)
    parser.add_argument("--home", type=Path, default=Path.home() / ".agora")
    parser.add_argument("--resolutions", type=int, default=30_000)
    parser.add_argument("--ann-threshold", type=int, default=5_000)
    parser.add_argument("--query-every-ms", type=float, default=50.0)
    parser.add_argument(
        "--index-threads",
        type=int,
        default=2,
        help="threads adding to a graph (the service: "
        "its worker's share of the cores, 2 for one worker on 2)",
    )
    parser.add_argument("--no-sweep", action="store_true", help="skip the ef_construction sweep")
    args = parser.parse_args()
    set_inference_threads(1)  # as a service worker of two on two cores
    store = Store(args.store_url, must_exist=True)
    cache = args.home / "serving-cache"
    base = ScriptRoutedKnowledgeBase(
        LazyEncoder(lambda: knowledge_encoder(cache, DEFAULT_KB_ENCODER))
    )
    base.latin.ann_threshold = base.han.ann_threshold = args.ann_threshold
    base.latin.encoder.encode(["warm up"])  # the encoder's one-time load is not the index's cost
    done = threading.Event()
    took: list[float] = []
    reader = threading.Thread(
        target=lambda: took.extend(searches_during(base, args.query_every_ms / 1000, done))
    )
    reader.start()
    seconds = load(store, base, args.resolutions)
    done.set()
    reader.join()
    print(f"loaded {len(base.latin):,} Latin + {len(base.han):,} Chinese cases in {seconds:.1f} s")
    print(
        f"searches during the load: {len(took)}, p50 {statistics.median(took):.1f} ms, "
        f"p99 {float(np.percentile(took, 99)):.1f} ms, max {max(took):.1f} ms"
    )
    sweep = [] if args.no_sweep else [(200, 1), (200, 2), (100, 2), (64, 2), (40, 2)]
    for name, kb in (("Latin", base.latin), ("Chinese", base.han)):
        if kb.uses_ann and kb.index is not None:
            vectors = kb.index.vectors(np.arange(len(kb.index)))
            graph_quality(name, vectors, kb.index, sweep)
            # The filled store copies a few thousand messages: distinct vectors are the harder test.
            graph_quality(f"{name}, distinct messages", np.unique(vectors, axis=0), None, sweep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
